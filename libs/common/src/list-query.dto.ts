import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/** `limit` and `cursor`, shared by every keyset-paginated list. */
export class ListQueryDto {
  @ApiPropertyOptional({ type: 'integer', default: 50, minimum: 1, maximum: 500 })
  @IsOptional()
  @Type(() => Number)
  @Min(1)
  @Max(500)
  @IsInt()
  limit?: number;

  @ApiPropertyOptional({ maxLength: 200, description: 'The nextCursor of the previous page.' })
  @IsOptional()
  @MaxLength(200)
  @IsString()
  cursor?: string;
}
