import { ApiProperty } from '@nestjs/swagger';
import { IsEnum, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { Role } from './api-token.entity';

export class CreateApiTokenDto {
  @ApiProperty({ example: 'ci-pipeline', description: 'Unique; letters, digits, dot, dash, underscore.' })
  @MinLength(1)
  @MaxLength(100)
  @Matches(/^[A-Za-z0-9._-]+$/, { message: 'name may contain letters, digits, dot, dash and underscore only' })
  @IsString()
  name!: string;

  @ApiProperty({ enum: Role })
  @IsEnum(Role)
  role!: Role;
}
