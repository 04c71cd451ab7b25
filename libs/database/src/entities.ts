import { ApiTokenEntity } from '@keyshift/features/api-tokens/api-token.entity';
import { AuditCheckpointEntity } from '@keyshift/features/audit/audit-checkpoint.entity';
import { AuditChainHeadEntity, AuditEventEntity } from '@keyshift/features/audit/audit-event.entity';
import { AuditVerifyRunEntity } from '@keyshift/features/audit/audit-verify-run.entity';
import { CampaignEntity } from '@keyshift/features/campaigns/campaign.entity';
import { AuthorizationServerEntity } from '@keyshift/features/authorization-servers/authorization-server.entity';
import { ClientEntity } from '@keyshift/features/clients/client.entity';
import { RegistrationExchangeEntity } from '@keyshift/features/connectors/registration-exchange.entity';
import { InventoryClientEntity, InventoryRunEntity } from '@keyshift/features/inventory/inventory.entity';
import { ClientKeyEntity } from '@keyshift/features/keys/client-key.entity';
import { KeyRotationEntity } from '@keyshift/features/keys/key-rotation.entity';
import { PossessionChallengeEntity } from '@keyshift/features/keys/possession-challenge.entity';
import { ProbeEntity } from '@keyshift/features/probes/probe.entity';
import { ReportChunkEntity, ReportEntity } from '@keyshift/features/reports/report.entity';
import { SigningKeyEntity } from '@keyshift/features/signing/signing-key.entity';

/** Every entity, in one list, so the app, the CLI data source and the drift test agree. */
export const ENTITIES = [
  ApiTokenEntity,
  AuthorizationServerEntity,
  ClientEntity,
  RegistrationExchangeEntity,
  AuditEventEntity,
  AuditChainHeadEntity,
  AuditCheckpointEntity,
  AuditVerifyRunEntity,
  ProbeEntity,
  ClientKeyEntity,
  KeyRotationEntity,
  PossessionChallengeEntity,
  CampaignEntity,
  ReportEntity,
  ReportChunkEntity,
  SigningKeyEntity,
  InventoryRunEntity,
  InventoryClientEntity,
];
