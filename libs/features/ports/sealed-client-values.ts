export type SealedField = 'client_secret' | 'registration_access_token' | 'successor_registration_access_token';

/**
 * The one way to open a client's sealed secret or registration access token, for features other
 * than clients (the clients feature's ClientSecrets provides it). Each opening is audited and
 * committed before `use` gets the plaintext, which exists only for the duration of `use`.
 */
export abstract class SealedClientValues {
  abstract use<T>(
    clientRowId: string,
    field: SealedField,
    purpose: string,
    actor: string,
    use: (plaintext: string) => Promise<T>,
  ): Promise<T>;
}
