import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { MultiaddrConnection } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { addressGroup, InboundGuard } from '../../src/net/inbound-guard.js'
import { testLogger } from '../helpers/network.js'

/** What the guard touches of a connection: its remote address, its close event, abort */
class Handshake extends EventTarget {
  readonly remoteAddr
  aborted?: Error

  constructor(address: string) {
    super()
    this.remoteAddr = multiaddr(address)
  }

  abort(err: Error): void {
    this.aborted = err
    this.dispatchEvent(new Event('close'))
  }

  close(): void {
    this.dispatchEvent(new Event('close'))
  }
}

const from = (ip: string, port = 40000): MultiaddrConnection =>
  new Handshake(`/ip4/${ip}/tcp/${port}`) as unknown as MultiaddrConnection

describe('inbound handshakes', () => {
  it('groups IPv4 by address and IPv6 by /64', () => {
    assert.equal(addressGroup({ remoteAddr: multiaddr('/ip4/10.1.2.3/tcp/1') }), '10.1.2.3')
    assert.equal(addressGroup({ remoteAddr: multiaddr('/ip6/2001:db8:0:1::5/tcp/1') }), '2001:db8:0:1::/64')
    assert.equal(
      addressGroup({ remoteAddr: multiaddr('/ip6/2001:db8:0:1:ffff::9/tcp/1') }),
      '2001:db8:0:1::/64'
    )
    assert.equal(addressGroup({ remoteAddr: multiaddr('/ip6/::ffff:10.1.2.3/tcp/1') }), '10.1.2.3')
    assert.equal(addressGroup({ remoteAddr: multiaddr('/unix/tmp%2Fsock') }), undefined)
  })

  it('refuses an address past its share, and takes it again once its handshakes end', () => {
    const guard = new InboundGuard({ maxPending: 10, maxPendingPerAddress: 3, logger: testLogger })
    const staller = [1, 2, 3].map((port) => from('10.0.0.9', port))
    for (const connection of staller) assert.equal(guard.refuse(connection), false)
    assert.equal(guard.refuse(from('10.0.0.9', 4)), true, 'a fourth from the same address')
    assert.equal(guard.refuse(from('10.0.0.1')), false, 'another address is let in')
    ;(staller[0] as unknown as Handshake).close()
    assert.equal(guard.refuse(from('10.0.0.9', 5)), false, 'a slot of its own came free')
    guard.settled(staller[1] as MultiaddrConnection)
    assert.equal(guard.size, 3)
    assert.deepEqual(guard.counts, { refused: 1, evicted: 0 })
  })

  it('when every slot is taken, evicts the oldest handshake of the address holding the most', () => {
    const guard = new InboundGuard({ maxPending: 4, maxPendingPerAddress: 3, logger: testLogger })
    const honest = from('10.0.0.1')
    assert.equal(guard.refuse(honest), false)
    const stallers = [1, 2, 3].map((port) => from('10.0.0.9', port))
    for (const connection of stallers) assert.equal(guard.refuse(connection), false)
    const newcomer = from('10.0.0.2')
    assert.equal(guard.refuse(newcomer), false, 'a newcomer is never turned away for lack of slots')
    assert.ok((stallers[0] as unknown as Handshake).aborted, 'the oldest handshake of the largest group went')
    assert.equal((honest as unknown as Handshake).aborted, undefined, 'the lone honest handshake stays')
    assert.equal(guard.size, 4)
    assert.deepEqual(guard.counts, { refused: 0, evicted: 1 })
  })
})
