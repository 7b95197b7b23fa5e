/**
 * A peer id as people read it in job events, the CLI and the operator's page (which loads this module's compiled
 * file as it is, GET /ui/jobs-model/peer-id.js, so it imports nothing). Ed25519 peer ids all start with 12D3KooW; their
 * tail tells them apart.
 */
export function shortPeerId(peerId: string): string {
  return peerId.length > 12 ? `\u2026${peerId.slice(-8)}` : peerId
}
