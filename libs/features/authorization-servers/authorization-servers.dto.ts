import { ApiProperty, ApiPropertyOptional, ApiPropertyOptions } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsDefined,
  IsEnum,
  IsIn,
  Matches,
  IsInt,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { NestedObject } from '@keyshift/common';
import { AssertionAudience, BUILT_IN_CONNECTOR_TYPES } from './authorization-server.entity';

const TRUSTED_HOSTS_DOC: ApiPropertyOptions = {
  type: [String],
  example: ['mtls.idp.example.com', 'idp-backchannel.example.com:8443'],
  description:
    "Hosts (host or host:port; a bare host means port 443) besides the issuer's on which the server's metadata may " +
    "name endpoints (token, registration, jwks_uri, mTLS aliases). Empty: the issuer's host only.",
};

export class AdminCredentialDto {
  @ApiProperty({
    enum: ['client_credentials', 'bearer', 'ssws'],
    description:
      'client_credentials: a service account exchanged at the server token endpoint for short-lived admin tokens ' +
      '(Keycloak: a realm client with realm-management roles); bearer: a static token for the admin API; ' +
      'ssws: an Okta API token.',
  })
  @IsIn(['client_credentials', 'bearer', 'ssws'])
  kind!: 'client_credentials' | 'bearer' | 'ssws';

  @ApiPropertyOptional({ description: 'client_credentials: the service account client_id.' })
  @IsOptional()
  @MinLength(1)
  @MaxLength(256)
  // RFC 6749 Appendix A.1: VSCHAR; a control character would break the Authorization header.
  @Matches(/^[\x20-\x7E]+$/, { message: 'must be printable ASCII (RFC 6749 VSCHAR)' })
  @IsString()
  clientId?: string;

  @ApiPropertyOptional({ description: 'client_credentials: its secret. Write-only: sealed, never returned.' })
  @IsOptional()
  @MinLength(1)
  @MaxLength(4096)
  @Matches(/^[\x20-\x7E]+$/, { message: 'must be printable ASCII (RFC 6749 VSCHAR)' })
  @IsString()
  clientSecret?: string;

  @ApiPropertyOptional({ description: 'bearer, ssws: the token. Write-only: sealed, never returned.' })
  @IsOptional()
  @MinLength(1)
  @MaxLength(8192)
  // RFC 6750 §2.1 b64token characters (Okta's SSWS tokens are a subset).
  @Matches(/^[A-Za-z0-9\-._~+/]+=*$/, { message: 'must use only the characters of an RFC 6750 bearer token' })
  @IsString()
  token?: string;

  @ApiPropertyOptional({ description: 'client_credentials: scopes to ask for, space-separated.' })
  @IsOptional()
  @MaxLength(1024)
  // RFC 6749 §3.3: scope-tokens of NQCHAR separated by single spaces.
  @Matches(/^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/, {
    message: 'must be scope tokens separated by spaces (RFC 6749 §3.3)',
  })
  @IsString()
  scope?: string;
}

export class ConnectorDto {
  @ApiProperty({
    example: 'rfc7592',
    description:
      `One of the connectors this Keyshift has (built in: ${BUILT_IN_CONNECTOR_TYPES.join(', ')}). ` +
      'rfc7592: dynamic client management; manual: the operator changes the server.',
  })
  @MaxLength(64)
  @IsString()
  type!: string;

  @ApiPropertyOptional({
    example: 'https://idp.example.com/admin/realms/acme',
    description:
      "Admin-API connectors (keycloak): the admin API's base URL, on the issuer's host or one of trustedHosts.",
  })
  @IsOptional()
  @MaxLength(2048)
  @IsString()
  adminUrl?: string;

  @ApiPropertyOptional({
    description:
      "Admin-API connectors: calls a minute Keyshift allows itself at the admin API, shared by every replica (Okta's apps bucket is 20 to 100). Absent: no limit.",
  })
  @IsOptional()
  @Min(1)
  @Max(1_000_000)
  @IsInt()
  adminCallsPerMinute?: number;

  @ApiPropertyOptional({ type: AdminCredentialDto })
  @IsOptional()
  @NestedObject(() => AdminCredentialDto)
  credential?: AdminCredentialDto;
}

export class CreateAuthorizationServerDto {
  @ApiProperty({ example: 'corp-idp' })
  @MinLength(1)
  @MaxLength(200)
  @IsString()
  name!: string;

  @ApiProperty({
    example: 'https://idp.example.com',
    description: 'The issuer identifier exactly as the server states it.',
  })
  @MaxLength(2048)
  @IsString()
  issuer!: string;

  @ApiProperty({ type: ConnectorDto })
  @NestedObject(() => ConnectorDto)
  @IsDefined()
  connector!: ConnectorDto;

  @ApiPropertyOptional({
    default: 300,
    description:
      "How long the server caches a client's jwks_uri, in seconds; key rotation overlaps at least this long.",
  })
  @IsOptional()
  @Min(0)
  @Max(7 * 24 * 3600)
  @IsInt()
  jwksCacheSeconds?: number;

  @ApiPropertyOptional({
    enum: AssertionAudience,
    description:
      "The `aud` the server accepts in client assertions. Default: `issuer` where the connector's assertion profile accepts it, else `token_endpoint` (okta, hydra).",
  })
  @IsOptional()
  @IsEnum(AssertionAudience)
  assertionAudience?: AssertionAudience;

  @ApiPropertyOptional({
    default: 60,
    description: 'Longest client assertion the server accepts, in seconds (Keyshift signs at most 60).',
  })
  @IsOptional()
  @Min(1)
  @Max(3600)
  @IsInt()
  maxAssertionSeconds?: number;

  @ApiPropertyOptional({
    default: 20,
    description: 'Token requests per second Keyshift allows itself against this server.',
  })
  @IsOptional()
  @Min(1)
  @Max(10_000)
  @IsInt()
  probeRatePerSecond?: number;

  @ApiPropertyOptional({
    default: 8,
    description: 'Token requests in flight at once against this server, per worker process.',
  })
  @IsOptional()
  @Min(1)
  @Max(256)
  @IsInt()
  probeConcurrency?: number;

  @ApiPropertyOptional(TRUSTED_HOSTS_DOC)
  @IsOptional()
  @ArrayMaxSize(20)
  @MaxLength(300, { each: true })
  @IsArray()
  @IsString({ each: true })
  trustedHosts?: string[];
}

/** PATCH /v1/authorization-servers/{id}: what may change after creation (a new discovery follows). */
export class UpdateAuthorizationServerDto {
  @ApiProperty(TRUSTED_HOSTS_DOC)
  @ArrayMaxSize(20)
  @MaxLength(300, { each: true })
  @IsArray()
  @IsString({ each: true })
  trustedHosts!: string[];
}

/** PUT /v1/authorization-servers/{id}/admin-access: replaces the admin API's URL, credential and budget at once. */
export class ReplaceAdminAccessDto {
  @ApiProperty({ example: 'https://idp.example.com/admin/realms/acme' })
  @MaxLength(2048)
  @IsString()
  adminUrl!: string;

  @ApiPropertyOptional({
    type: AdminCredentialDto,
    description: 'Absent: no credential (only where the connector allows none).',
  })
  @IsOptional()
  @NestedObject(() => AdminCredentialDto)
  credential?: AdminCredentialDto;

  @ApiPropertyOptional({ description: 'Admin API calls a minute; absent: no limit.' })
  @IsOptional()
  @Min(1)
  @Max(1_000_000)
  @IsInt()
  adminCallsPerMinute?: number;
}
