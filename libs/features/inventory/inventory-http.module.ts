import { Module } from '@nestjs/common';
import { InventoryController } from './inventory.controller';
import { InventoryModule } from './inventory.module';

@Module({ imports: [InventoryModule], controllers: [InventoryController] })
export class InventoryHttpModule {}
