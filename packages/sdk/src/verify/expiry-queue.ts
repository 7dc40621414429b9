/**
 * ExpiryQueue: items ordered by an expiry time (a binary min-heap), so whatever has expired is found without scanning
 * what has not. Pushing and popping cost O(log n); peeking at the earliest expiry costs O(1).
 */
export class ExpiryQueue<T> {
  private readonly times: number[] = []
  private readonly items: T[] = []

  get size(): number {
    return this.times.length
  }

  push(time: number, item: T): void {
    const { times, items } = this
    let i = times.length
    times.push(time)
    items.push(item)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (times[parent]! <= time) break
      times[i] = times[parent]!
      items[i] = items[parent]!
      i = parent
    }
    times[i] = time
    items[i] = item
  }

  /** Removes and hands each item whose time is at or before `time` to `take`, earliest first. */
  popUntil(time: number, take: (item: T, time: number) => void): void {
    const { times, items } = this
    while (times.length > 0 && times[0]! <= time) {
      const top = times[0]!
      const item = items[0]!
      const lastTime = times.pop()!
      const lastItem = items.pop()!
      if (times.length > 0) this.siftDown(lastTime, lastItem)
      take(item, top)
    }
  }

  private siftDown(time: number, item: T): void {
    const { times, items } = this
    const n = times.length
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      const child = right < n && times[right]! < times[left]! ? right : left
      if (times[child]! >= time) break
      times[i] = times[child]!
      items[i] = items[child]!
      i = child
    }
    times[i] = time
    items[i] = item
  }
}
