/**
 * Child process of the OCPP bench: N simulated OCPP 2.0.1 stations on real WebSockets (the `ws`
 * package, minimal OCPP-J framing, no validation: the CSMS validates). Runs apart from the CSMS so the
 * CSMS's RSS and file descriptors are its own.
 *
 * Each station: connects with Basic auth, sends BootNotification, answers GetVariables,
 * SetChargingProfile (Accepted) and GetCompositeSchedule (Rejected), sends a Heartbeat every
 * `heartbeatS` and a MeterValues every `meterS` (both with random phase). Messages to the parent:
 * { type: 'connected', ok, failed }, { type: 'stats', sent, received }.
 */
import WebSocket from 'ws';

interface Args {
  endpoint: string;
  prefix: string;
  count: number;
  password: string;
  heartbeatS: number;
  meterS: number;
  concurrency: number;
}

const args = JSON.parse(process.argv[2]!) as Args;
let sent = 0;
let received = 0;
let msgId = 0;
const sockets: WebSocket[] = [];
const timers: NodeJS.Timeout[] = [];

function call(ws: WebSocket, action: string, payload: object): void {
  if (ws.readyState !== WebSocket.OPEN) return;
  ws.send(JSON.stringify([2, `m${++msgId}`, action, payload]));
  sent++;
}

function answer(ws: WebSocket, frame: unknown[]): void {
  const [type, id, action, payload] = frame as [number, string, string, Record<string, unknown>];
  if (type !== 2) return; // our own CALLs' results: nothing to do
  let result: object;
  switch (action) {
    case 'SetChargingProfile':
      result = { status: 'Accepted' };
      break;
    case 'GetVariables':
      result = {
        getVariableResult: (payload.getVariableData as { component: object; variable: { name: string } }[]).map((d) => ({
          attributeStatus: d.variable.name === 'PeriodsPerSchedule' ? 'Accepted' : 'UnknownVariable',
          ...(d.variable.name === 'PeriodsPerSchedule' ? { attributeValue: '48' } : {}),
          component: d.component,
          variable: d.variable,
        })),
      };
      break;
    case 'GetCompositeSchedule':
      result = { status: 'Rejected' };
      break;
    default:
      ws.send(JSON.stringify([4, id, 'NotImplemented', '', {}]));
      sent++;
      return;
  }
  ws.send(JSON.stringify([3, id, result]));
  sent++;
}

function open(i: number): Promise<boolean> {
  const id = `${args.prefix}${i}`;
  return new Promise((resolve) => {
    const ws = new WebSocket(`${args.endpoint}/${encodeURIComponent(id)}`, ['ocpp2.0.1'], {
      headers: { authorization: 'Basic ' + Buffer.from(`${id}:${args.password}`).toString('base64') },
      perMessageDeflate: false,
    });
    ws.on('message', (data) => {
      received++;
      try {
        answer(ws, JSON.parse(String(data)) as unknown[]);
      } catch {
        /* malformed: ignore */
      }
    });
    ws.once('open', () => {
      sockets.push(ws);
      call(ws, 'BootNotification', { reason: 'PowerUp', chargingStation: { model: 'Bench', vendorName: 'gridflex' } });
      const hb = setTimeout(() => {
        call(ws, 'Heartbeat', {});
        timers.push(setInterval(() => call(ws, 'Heartbeat', {}), args.heartbeatS * 1000));
      }, Math.random() * args.heartbeatS * 1000);
      const meter = () =>
        call(ws, 'MeterValues', { evseId: 1, meterValue: [{ timestamp: new Date().toISOString(), sampledValue: [{ value: 3000 + Math.round(Math.random() * 4000), measurand: 'Power.Active.Import' }] }] });
      const mv = setTimeout(() => {
        meter();
        timers.push(setInterval(meter, args.meterS * 1000));
      }, Math.random() * args.meterS * 1000);
      timers.push(hb, mv);
      resolve(true);
    });
    ws.once('error', () => resolve(false));
    ws.on('error', () => undefined);
  });
}

async function main(): Promise<void> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: Math.min(args.concurrency, args.count) }, async () => {
      while (next < args.count) {
        const i = next++;
        if (await open(i)) ok++;
        else failed++;
      }
    }),
  );
  process.send?.({ type: 'connected', ok, failed });
}

process.on('message', (m: { type: string }) => {
  if (m.type === 'stats') process.send?.({ type: 'stats', sent, received });
  if (m.type === 'stop') {
    for (const t of timers) clearTimeout(t);
    for (const s of sockets) s.terminate();
    process.exit(0);
  }
});

void main();
