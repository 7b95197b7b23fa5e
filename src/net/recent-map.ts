/**
 * Sets `key` in a Map used as a record of the most recently seen: re-inserted, so that the Map's order is by last
 * use, and the least recently used entry dropped past `max`. Keeps what strangers can add to a map bounded.
 */
export function setRecent<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key)
  map.set(key, value)
  if (map.size > max) {
    const oldest = map.keys().next()
    if (oldest.done !== true) map.delete(oldest.value)
  }
}
