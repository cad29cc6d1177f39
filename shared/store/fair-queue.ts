/**
 * The CAMS budget's rule, shared by the in-memory limiter and the Redis script (which mirrors it in Lua,
 * shared/store/redis.ts): slots at least `spacing` apart (GCRA with a burst of one, so any one-second window holds
 * at most `ratePerSecond` calls), handed out in a fair order between spaces.
 *
 * The order is self-clocked fair queueing (Golestani, "A self-clocked fair queueing scheme for broadband
 * applications", INFOCOM 1994): each waiting request gets a finish tag F = max(V, F_last of its space) + 1, where V
 * is the tag of the request served last, and the lowest tag is served next. F_last counts only a space's requests
 * still waiting: a space whose requests were all served, refused or dropped starts again at V, so refusals of the
 * past never push its next request back. While one space is alone it gets every
 * slot (nothing is held back: the queue is work-conserving); as soon as another space waits, the two alternate, so a
 * space that floods only pushes back its own requests, and it is the one whose requests run out of time (429).
 *
 * Equal tags (one per space at most) go first to the space with fewer requests waiting, then by id: a space that
 * asks while another floods takes the very next slot, rather than the one after the flood's request of the same tag.
 *
 * Requests are not promised a slot when they arrive: each one takes its turn when it is at the head and the next
 * slot has come, and otherwise learns how long to wait before it looks again. One whose turn would come after its
 * deadline is refused at once and holds no place (nothing is reserved for a request that will be refused); one that
 * others have pushed past its deadline is dropped the same way. A waiter that stops looking (its instance froze or
 * died) is forgotten after `STALE_MS`.
 */

import { MAX_LOOK_AGAIN_MS } from '../preview/ports.js';

/**
 * Grants keep 10% of the quota back: a request leaves a few ms off its slot (timers, a busy instance, the network)
 * and CAMS counts any one-second window, so slots spaced exactly 1000/N ms apart would be throttled now and then.
 * At 5/s this is 220 ms between grants, i.e. 100 ms of slack in every window.
 */
const RATE_LIMIT_HEADROOM = 0.1;

/** A waiter not seen for this long (four of its looks) is dropped from the queue. */
export const STALE_MS = 4 * MAX_LOOK_AGAIN_MS;

/** Milliseconds between two grants for a budget of `ratePerSecond` calls per second. */
export function slotSpacingMs(ratePerSecond: number): number {
  return Math.ceil((1000 * (1 + RATE_LIMIT_HEADROOM)) / ratePerSecond);
}

/** One request waiting for its turn. */
interface Waiter {
  readonly tag: number;
  readonly space: string;
  /** Epoch ms after which it no longer wants a slot. */
  deadline: number;
  /** Epoch ms it last looked. */
  seen: number;
}

/** One scope's (one account's) budget. */
export interface FairQueueState {
  /** When the next slot comes (epoch ms). */
  tat: number;
  /** The finish tag of the request served last. */
  virtualTime: number;
  /** Each space with requests waiting: the highest finish tag given to it, and how many wait. */
  readonly spaces: Map<string, { lastTag: number; waiting: number }>;
  readonly waiters: Map<string, Waiter>;
}

export function newFairQueueState(): FairQueueState {
  return { tat: 0, virtualTime: 0, spaces: new Map(), waiters: new Map() };
}

/** What a look at the queue decided. */
export type FairTurn =
  | { readonly state: 'granted' }
  | { readonly state: 'queued'; readonly waitMs: number }
  | { readonly state: 'refused'; readonly retryAfterMs: number };

/**
 * `ticket` (of `space`) looks at the queue at `now`, wanting a slot within `maxWaitMs`: its turn is taken, or it is
 * queued (or stays queued) with the time until its turn, or refused and forgotten.
 */
export function takeTurn(
  state: FairQueueState,
  now: number,
  ticket: { readonly id: string; readonly space: string },
  maxWaitMs: number,
  spacingMs: number,
): FairTurn {
  forgetGone(state, now);
  const known = state.waiters.get(ticket.id);
  const tag = known?.tag ?? Math.max(state.virtualTime, state.spaces.get(ticket.space)?.lastTag ?? 0) + 1;
  const ahead = countAhead(state, tag, ticket, known === undefined);
  const waitMs = Math.max(now, state.tat) - now + ahead * spacingMs;
  if (waitMs > maxWaitMs) {
    if (known !== undefined) forget(state, ticket.id, known);
    return { state: 'refused', retryAfterMs: Math.max(1, Math.ceil(waitMs - Math.max(0, maxWaitMs))) };
  }
  if (ahead === 0 && waitMs === 0) {
    if (known !== undefined) forget(state, ticket.id, known);
    state.tat = Math.max(now, state.tat) + spacingMs;
    state.virtualTime = tag;
    return { state: 'granted' };
  }
  if (known === undefined) {
    const space = state.spaces.get(ticket.space);
    if (space === undefined) state.spaces.set(ticket.space, { lastTag: tag, waiting: 1 });
    else {
      space.lastTag = Math.max(space.lastTag, tag);
      space.waiting += 1;
    }
    state.waiters.set(ticket.id, { tag, space: ticket.space, deadline: now + maxWaitMs, seen: now });
  } else {
    known.deadline = now + maxWaitMs;
    known.seen = now;
  }
  return { state: 'queued', waitMs };
}

function forget(state: FairQueueState, id: string, waiter: Waiter): void {
  state.waiters.delete(id);
  const space = state.spaces.get(waiter.space);
  if (space === undefined) return;
  space.waiting -= 1;
  if (space.waiting <= 0) state.spaces.delete(waiter.space);
}

/**
 * Waiters served before a request with `tag` of `ticket`: lower tags first; among equal tags the space with fewer
 * waiting (the asker's own counted as if queued), then the lower id (as a Redis sorted set orders members).
 */
function countAhead(
  state: FairQueueState,
  tag: number,
  ticket: { readonly id: string; readonly space: string },
  asking: boolean,
): number {
  const waitingIn = (space: string) => state.spaces.get(space)?.waiting ?? 0;
  const mine = waitingIn(ticket.space) + (asking ? 1 : 0);
  let ahead = 0;
  for (const [otherId, other] of state.waiters) {
    if (otherId === ticket.id) continue;
    if (other.tag < tag) ahead += 1;
    else if (other.tag === tag) {
      const theirs = waitingIn(other.space);
      if (theirs < mine || (theirs === mine && otherId < ticket.id)) ahead += 1;
    }
  }
  return ahead;
}

function forgetGone(state: FairQueueState, now: number): void {
  for (const [id, waiter] of state.waiters) {
    if (waiter.deadline < now || waiter.seen < now - STALE_MS) forget(state, id, waiter);
  }
}

/** A scope with nobody waiting and its last slot past holds nothing worth keeping. */
export function isIdle(state: FairQueueState, now: number): boolean {
  return state.waiters.size === 0 && state.tat < now;
}
