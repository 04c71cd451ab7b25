import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEnum, IsIn, IsInt, IsObject, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import { KeyAlgorithm, RSA_MODULUS_LENGTHS, RsaModulusLength } from './key-algorithms';

export class RotateKeyDto {
  @ApiPropertyOptional({ enum: KeyAlgorithm, description: "Defaults to the active key's algorithm, else ES256." })
  @IsOptional()
  @IsEnum(KeyAlgorithm)
  alg?: KeyAlgorithm;

  @ApiPropertyOptional({ enum: RSA_MODULUS_LENGTHS, description: 'RSA only (PS256, RS256); default 2048.' })
  @IsOptional()
  @IsIn(RSA_MODULUS_LENGTHS)
  modulusLength?: RsaModulusLength;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Rotate to this registered bring-your-own key (pending) instead of generating one.',
  })
  @IsOptional()
  @IsUUID()
  keyId?: string;
}

export class ExportKeyDto {
  @ApiProperty({ enum: ['pem', 'jwk'], description: 'PKCS#8 PEM, or a private JWK.' })
  @IsIn(['pem', 'jwk'])
  format!: 'pem' | 'jwk';
}

export class RegisterOwnKeyDto {
  @ApiProperty({ format: 'uuid', description: 'The challenge from POST /v1/clients/{id}/keys/challenges.' })
  @IsUUID()
  challengeId!: string;

  @ApiProperty({ enum: KeyAlgorithm })
  @IsEnum(KeyAlgorithm)
  alg!: KeyAlgorithm;

  @ApiProperty({ description: 'The public JWK only: a key with private members (d, p, q, ...) is refused.' })
  @IsObject()
  jwk!: Record<string, unknown>;

  @ApiProperty({
    description: 'A compact JWS signed with the key, whose payload is {"nonce": <the challenge\'s nonce>}.',
  })
  @IsString()
  @MaxLength(16_384)
  proof!: string;
}

export class RotationPolicyDto {
  @ApiProperty({
    type: 'integer',
    minimum: 1,
    maximum: 3650,
    description: 'Rotate once the active key is this many days old.',
  })
  @IsInt()
  @Min(1)
  @Max(3650)
  periodDays!: number;

  @ApiPropertyOptional({
    nullable: true,
    description:
      'Cron expression (UTC, five fields) naming the minutes a scheduled rotation may start in, e.g. "* 2-4 * * 1-5".',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  window?: string | null;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 30 * 86_400,
    nullable: true,
    description:
      "At least this overlap in seconds; never less than the server's JWKS cache time + assertion lifetime + margin.",
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(30 * 86_400)
  overlapSeconds?: number | null;
}
