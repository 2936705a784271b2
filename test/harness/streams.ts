import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';

/** Every message a stream holds, in sequence order (read one by one: for tests' small streams). */
export async function storedMessages(jsm: JetStreamManager, stream: string): Promise<StoredMsg[]> {
  const info = await jsm.streams.info(stream);
  const out: StoredMsg[] = [];
  if (info.state.messages === 0) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    // A gap (deleted or purged message) is skipped.
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m) out.push(m);
  }
  return out;
}
