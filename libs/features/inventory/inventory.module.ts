import { Module } from '@nestjs/common';
import { ClientsModule } from '../clients/clients.module';
import { InventoryRunHandler } from './inventory-run.handler';
import { InventoryTickHandler } from './inventory-tick.handler';
import { InventoryService } from './inventory.service';

/** Estate discovery: inventory runs (worker) and their imports (API). */
@Module({
  imports: [ClientsModule],
  providers: [InventoryService, InventoryRunHandler, InventoryTickHandler],
  exports: [InventoryService, InventoryRunHandler, InventoryTickHandler],
})
export class InventoryModule {}
