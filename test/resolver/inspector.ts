/**
 * Reaching into one serving thread of a running resolver from outside, to make it die the
 * way a thread can (an uncaught exception, process.exit) and nothing else does: the
 * resolver runs with `--inspect=127.0.0.1:PORT`, and the inspector protocol's NodeWorker
 * domain evaluates code in a worker thread. Loopback only.
 */
import { setTimeout as sleep } from 'node:timers/promises';

interface Message {
  readonly id?: number;
  readonly method?: string;
  readonly params?: { readonly sessionId?: string; readonly workerInfo?: { readonly workerId?: string } };
}

export class WorkerInspector {
  private readonly socket: WebSocket;
  /** Sessions of the worker threads attached now, newest last. */
  readonly sessions: string[] = [];
  attached = 0;
  private nextId = 1;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.addEventListener('message', (event: MessageEvent) => {
      const message = JSON.parse(String(event.data)) as Message;
      const session = message.params?.sessionId;
      if (message.method === 'NodeWorker.attachedToWorker' && session) {
        this.sessions.push(session);
        this.attached++;
      }
      if (message.method === 'NodeWorker.detachedFromWorker' && session) this.sessions.splice(this.sessions.indexOf(session), 1);
    });
  }

  /** Connects to the inspector on `port` and asks to be told about every worker thread. */
  static async connect(port: number): Promise<WorkerInspector> {
    let url: string | undefined;
    for (let attempt = 0; attempt < 50 && !url; attempt++) {
      try {
        const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as Array<{ webSocketDebuggerUrl: string }>;
        url = targets[0]?.webSocketDebuggerUrl;
      } catch {
        await sleep(100);
      }
    }
    if (!url) throw new Error(`no inspector on port ${port}`);
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.addEventListener('open', resolve, { once: true });
      socket.addEventListener('error', reject, { once: true });
    });
    const inspector = new WorkerInspector(socket);
    inspector.send('NodeWorker.enable', { waitForDebuggerOnStart: false });
    return inspector;
  }

  /** Evaluates `expression` in the worker thread of `session`. */
  evaluate(session: string, expression: string): void {
    this.send('NodeWorker.sendMessageToWorker', { sessionId: session, message: JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression } }) });
  }

  close(): void {
    this.socket.close();
  }

  private send(method: string, params: object): void {
    this.socket.send(JSON.stringify({ id: this.nextId++, method, params }));
  }
}
