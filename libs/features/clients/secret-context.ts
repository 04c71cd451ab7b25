/**
 * The additional authenticated data each sealed value is bound to: its kind and its row. A
 * ciphertext moved to another row or column no longer opens.
 */
export const secretContext = {
  clientSecret: (clientRowId: string) => `client_secret:${clientRowId}`,
  registrationAccessToken: (clientRowId: string) => `registration_access_token:${clientRowId}`,
  successorRegistrationAccessToken: (clientRowId: string) => `successor_registration_access_token:${clientRowId}`,
};
