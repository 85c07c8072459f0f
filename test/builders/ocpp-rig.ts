/**
 * The set-up the OCPP integration tests share: a grid area with stations of two EVSEs each, a password
 * per station, the CSMS under test on a real port (test/helpers/ocpp-csms.ts), and independent strict
 * ocpp-rpc station clients (test/helpers/ocpp-station.ts) that are all closed with the rig.
 */
import type { RPCClient } from 'ocpp-rpc';
import type { CsmsDeps } from '../../services/ocpp/csms.ts';
import { setStationPassword } from '../../services/ocpp/station-credentials.ts';
import type { Db } from '../../services/store/db.ts';
import { upsertNodes, type NodeInput } from '../../services/store/topology-store.ts';
import { startTestCsms, type TestCsms } from '../helpers/ocpp-csms.ts';
import { connectStation, eventually, type TestOcppVersion } from '../helpers/ocpp-station.ts';

export type Obj = Record<string, unknown>;
/** CSMS → station calls a test station answers, by action. */
export type StationHandlers = Record<string, (params: Obj) => Obj | Promise<Obj>>;

export interface StationShape {
  /** EVSEs with ocppEvseId 1..n (default 2). */
  evses?: number;
  evseMaxKw?: number;
  voltageV?: number;
  phases?: number;
}

/** A station and its EVSEs `<id>-1`, `<id>-2`, … (ocppEvseId 1, 2, …). */
export function stationNodes(id: string, parentId: string, s: StationShape = {}): NodeInput[] {
  return [
    { id, kind: 'station', parentId, voltageV: s.voltageV ?? 230, phases: s.phases ?? 3 },
    ...Array.from({ length: s.evses ?? 2 }, (_, i): NodeInput => ({ id: `${id}-${i + 1}`, kind: 'evse', parentId: id, maxPowerKw: s.evseMaxKw ?? 22, ocppEvseId: i + 1 })),
  ];
}

/** A grid area (default import limit 100 kW) with the stations directly under it. */
export function areaTopology(area: string, stationIds: string[], o: { importLimitKw?: number } & StationShape = {}): NodeInput[] {
  return [{ id: area, kind: 'grid_area', parentId: null, importLimitKw: o.importLimitKw ?? 100 }, ...stationIds.flatMap((id) => stationNodes(id, area, o))];
}

export interface ConnectOptions {
  handlers?: StationHandlers;
  /** false: the client may send schema-invalid messages. */
  strict?: boolean;
  /** Wait until the CSMS has registered the connection (before it can call the station). */
  waitConnected?: boolean;
}

export interface OcppRig {
  t: TestCsms;
  /** Every client connect() opened (tests may add their own to have them closed too). */
  clients: RPCClient[];
  connect(identity: string, version: TestOcppVersion, o?: ConnectOptions): Promise<RPCClient>;
  /** Closes the open clients (the CSMS keeps running). */
  closeClients(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Stores `nodes`, gives every station among them `password`, starts a CSMS with `env` (on top of the
 * test defaults of startTestCsms).
 */
export async function startOcppRig(
  db: Db,
  o: { nodes: NodeInput[]; password: string; env?: Record<string, string>; csms?: Pick<CsmsDeps, 'checkProfilesOnConnect'> },
): Promise<OcppRig> {
  await db.tx((q) => upsertNodes(q, o.nodes));
  for (const n of o.nodes) if (n.kind === 'station') await setStationPassword(db, n.id, o.password);
  const t = await startTestCsms(db, o.env ?? {}, o.csms ?? {});
  const clients: RPCClient[] = [];
  const closeClients = async () => {
    for (const c of clients.splice(0)) await c.close({ force: true }).catch(() => undefined);
  };
  return {
    t,
    clients,
    async connect(identity, version, c = {}) {
      const client = await connectStation({ endpoint: t.endpoint, identity, password: o.password, version, ...(c.strict === undefined ? {} : { strict: c.strict }) });
      clients.push(client);
      for (const [method, fn] of Object.entries(c.handlers ?? {})) client.handle(method, async ({ params }) => fn(params as Obj));
      if (c.waitConnected) await eventually(() => t.csms.isConnected(identity));
      return client;
    },
    closeClients,
    async close() {
      await closeClients();
      await t.close();
    },
  };
}
