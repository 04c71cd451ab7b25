import { Module } from '@nestjs/common';
import { ClientsModule } from '../clients/clients.module';
import { InventoryRunHandler } from './inventory-run.handler';
import { InventoryService } from './inventory.service';

/** Estate discovery: inventory runs (worker) and their imports (API). */
@Module({
  imports: [ClientsModule],
  providers: [InventoryService, InventoryRunHandler],
  exports: [InventoryService, InventoryRunHandler],
})
export class InventoryModule {}
