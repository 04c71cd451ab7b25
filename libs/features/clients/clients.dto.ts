import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Phase, PhaseState } from '@keyshift/domain';
import {
  ArrayMaxSize,
  IsArray,
  IsDefined,
  IsEnum,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  IsUUID,
  Matches,
  Max,
  MaxDate,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
} from 'class-validator';
import { Transform } from 'class-transformer';
import { IsoDateTime, ListQueryDto, NestedObject } from '@keyshift/common';
import { CutoverMode, MigrationStrategy, SenderConstraint, SourceAuthMethod, TargetAuthMethod } from './client.entity';

/** A client tag: starts with a letter or digit, then letters, digits and . _ : / -. */
export const CLIENT_TAG = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;

/** A client's tags: at most 50, each a CLIENT_TAG of at most 64 characters (clients and inventory imports). */
export function ClientTags(): PropertyDecorator {
  return applyDecorators(
    ArrayMaxSize(50),
    MaxLength(64, { each: true }),
    Matches(CLIENT_TAG, {
      each: true,
      message: 'each tag must start with a letter or digit and use letters, digits, . _ : / -',
    }),
    IsArray(),
    IsString({ each: true }),
  );
}

export class TargetDto {
  @ApiProperty({ enum: TargetAuthMethod, description: 'tls_client_auth and self_signed_tls_client_auth come later.' })
  @IsEnum(TargetAuthMethod)
  authMethod!: TargetAuthMethod;

  @ApiProperty({ enum: SenderConstraint })
  @IsEnum(SenderConstraint)
  senderConstraint!: SenderConstraint;

  @ApiProperty({ enum: MigrationStrategy })
  @IsEnum(MigrationStrategy)
  strategy!: MigrationStrategy;

  @ApiPropertyOptional({
    enum: CutoverMode,
    default: CutoverMode.Confirm,
    description:
      '`confirm`: cutover waits for POST /v1/clients/{id}/cutover/confirm. `automatic`: Keyshift switches the method at the server itself (in_place only: it cannot move a workload to a new client_id).',
  })
  @IsOptional()
  @IsEnum(CutoverMode)
  @ValidateBy({
    name: 'automaticNeedsInPlace',
    validator: {
      validate: (value, args) =>
        value !== CutoverMode.Automatic || (args?.object as TargetDto).strategy === MigrationStrategy.InPlace,
      defaultMessage: () => 'automatic needs strategy in_place (Keyshift cannot move a workload to a new client_id)',
    },
  })
  cutover?: CutoverMode;
}

export class CreateClientDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  authorizationServerId!: string;

  @ApiProperty({ minLength: 1, maxLength: 255, description: 'The client_id registered at the authorization server.' })
  @MinLength(1)
  @MaxLength(255)
  @IsString()
  clientId!: string;

  @ApiProperty({ enum: SourceAuthMethod, description: 'How the client authenticates today.' })
  @IsEnum(SourceAuthMethod)
  authMethod!: SourceAuthMethod;

  @ApiProperty({
    minLength: 1,
    maxLength: 4096,
    description: 'The shared secret. Encrypted at rest; never returned.',
    writeOnly: true,
  })
  @MinLength(1)
  @MaxLength(4096)
  @IsString()
  clientSecret!: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description: "When the secret was issued (e.g. its vault's creation date): the estate report ages secrets by it.",
  })
  @IsOptional()
  @MaxDate(() => new Date(), { message: 'must not be in the future' })
  @IsoDateTime()
  secretIssuedAt?: Date;

  @ApiPropertyOptional({
    description: 'RFC 7592 registration access token. Encrypted at rest; never returned.',
    writeOnly: true,
  })
  @IsOptional()
  @MinLength(1)
  @MaxLength(4096)
  @IsString()
  registrationAccessToken?: string;

  @ApiPropertyOptional({ format: 'uri', maxLength: 2048, description: 'RFC 7592 client configuration endpoint.' })
  @IsOptional()
  @IsUrl(
    { require_protocol: true, require_tld: false, protocols: ['https', 'http'] },
    { message: 'must be an absolute http(s) URL' },
  )
  @MaxLength(2048)
  registrationClientUri?: string;

  @ApiProperty({ type: TargetDto })
  @NestedObject(() => TargetDto)
  @IsDefined()
  target!: TargetDto;

  @ApiPropertyOptional({ nullable: true, example: 'team-payments' })
  @IsOptional()
  @MinLength(1)
  @MaxLength(200)
  @IsString()
  owner?: string | null;

  @ApiPropertyOptional({ type: [String], example: ['pci', 'wave-1'] })
  @IsOptional()
  @ClientTags()
  tags?: string[];
}

/**
 * The client filter over HTTP (see ClientFilter in client-filter.ts): the same names on the client
 * list (query string), the estate report and a campaign's `selector` (JSON body). Canonical names:
 * `authorizationServerId`, `owner`, `tags`, `phase`, `state`. `tag` (one tag) is the older name,
 * kept so existing callers work; it means `tags` with that one tag.
 */
export class ListClientsQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ enum: Phase })
  @IsOptional()
  @IsEnum(Phase)
  phase?: Phase;

  @ApiPropertyOptional({ enum: PhaseState })
  @IsOptional()
  @IsEnum(PhaseState)
  state?: PhaseState;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  authorizationServerId?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @MaxLength(200)
  @IsString()
  owner?: string;

  @ApiPropertyOptional({
    type: [String],
    maxItems: 20,
    description:
      'Canonical. Clients carrying every one of these tags: repeat the parameter (`tags=a&tags=b`) or separate with commas (`tags=a,b`).',
  })
  @IsOptional()
  // A query string gives one string for one occurrence and an array for several; tags have no commas.
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value.flatMap(splitTags) : value,
  )
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @MinLength(1, { each: true })
  @MaxLength(64, { each: true })
  tags?: string[];

  @ApiPropertyOptional({ deprecated: true, description: 'One tag: the older name for `tags` (still accepted).' })
  @IsOptional()
  @MaxLength(64)
  @IsString()
  tag?: string;
}

function splitTags(value: unknown): unknown[] {
  return typeof value === 'string' ? value.split(',') : [value];
}

export enum ImportErrorMode {
  /** Any row error rejects the whole request: nothing is written (the default). */
  Reject = 'reject',
  /** Rows with errors are skipped and reported; the valid rows are written together. */
  Skip = 'skip',
}

export class ImportQueryDto {
  @ApiPropertyOptional({ enum: ImportErrorMode, default: ImportErrorMode.Reject })
  @IsOptional()
  @IsEnum(ImportErrorMode)
  onError?: ImportErrorMode;
}

export class ConfirmCutoverDto {
  @ApiProperty({
    description: 'What was switched and by whom: kept in the audit trail.',
    example: 'payments-api redeployed with the key (CHG-1234)',
  })
  @MinLength(1)
  @MaxLength(2000)
  @IsString()
  note!: string;
}

export class TransitionDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    description: 'Refuse with 409 unless the client is still at this version.',
  })
  @IsOptional()
  @Min(1)
  @Max(2_147_483_647)
  @IsInt()
  expectedVersion?: number;
}

/** Which of a client's registrations a registration access token belongs to. */
export enum RegistrationKind {
  Original = 'original',
  Successor = 'successor',
}

/**
 * A registration access token an operator obtained from the server's administrator, after Keyshift
 * reported one lost (the server rotated it and the answer never reached Keyshift's journal).
 */
export class ReplaceRegistrationAccessTokenDto {
  @ApiProperty({
    description: 'The new RFC 7592 registration access token. Encrypted at rest; never returned.',
    writeOnly: true,
  })
  @MinLength(1)
  @MaxLength(4096)
  @IsString()
  registrationAccessToken!: string;

  @ApiPropertyOptional({ enum: RegistrationKind, default: RegistrationKind.Original })
  @IsOptional()
  @IsEnum(RegistrationKind)
  registration?: RegistrationKind;

  @ApiProperty({
    description: 'Where the token came from: kept in the audit trail.',
    example: 'issued by the IdP team (CHG-1234)',
  })
  @MinLength(1)
  @MaxLength(2000)
  @IsString()
  note!: string;
}
