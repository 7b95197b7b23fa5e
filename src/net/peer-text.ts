/**
 * Text that crosses from one machine to another: a peer's refusal or failure reason, the verdict of a transfer.
 * The peer writes it through peerText before it goes out, and the submitter again when it records what a peer
 * said, since a hostile or older peer need not have: such text is printed on terminals and shown on the
 * operator's page, so it must be one short line without control characters, and a machine's file system
 * layout (its data dir, its user's home) is its own business.
 */

/** The most characters of a peer's reason kept; the job frame would allow a megabyte of it */
export const MAX_PEER_TEXT_CHARS = 300

/** What stands in for an absolute path */
export const PATH_PLACEHOLDER = '<path>'

/**
 * Absolute paths: POSIX ones (a "/" at a word's start followed by a name) and Windows ones (C:\ …). Protocol
 * ids and multiaddrs (/proofmesh/…, /ip4/…, /p2p/…) look the same and are kept: they name no file.
 */
const ABSOLUTE_PATH =
  /(?<=^|[\s"'`(=:,[{<])(?:\/[^\s/"'`),;\]}>][^\s"'`),;\]}>]*|[A-Za-z]:\\[^\s"'`),;\]}>]*)/g
const NOT_A_PATH = /^\/(?:ip4|ip6|dns|dns4|dns6|dnsaddr|tcp|udp|quic|quic-v1|p2p|ipfs|proofmesh|ws|wss)\//

/** C0 and C1 control characters (escape sequences included), and the line and paragraph separators */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g

/** One line, no control characters, no absolute path, at most MAX_PEER_TEXT_CHARS characters */
export function peerText(text: string): string {
  const line = text
    .replace(CONTROL, ' ')
    .replace(ABSOLUTE_PATH, (path) => {
      if (NOT_A_PATH.test(path)) return path
      // the sentence's punctuation after the path (`cannot open /x/y: denied`) is not part of it
      return `${PATH_PLACEHOLDER}${/[:.!?]+$/.exec(path)?.[0] ?? ''}`
    })
    .replace(/ {2,}/g, ' ')
    .trim()
  return line.length > MAX_PEER_TEXT_CHARS ? `${line.slice(0, MAX_PEER_TEXT_CHARS - 1)}\u2026` : line
}
