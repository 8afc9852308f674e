//! The waiter queues — a slab of nodes linked into one shared queue and one queue per
//! worker — and the workers' connection states, which the same lock guards.
//!
//! A slab instead of intrusive nodes keeps this free of `unsafe`; it allocates only when a
//! queue grows past its longest length so far, then reuses the freed nodes.

use std::task::Waker;

use super::{Life, Refusal, WORD_BITS};

pub(super) const NIL: u32 = u32::MAX;
const SHARED: u32 = u32::MAX - 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    Assigned(u32),
    Refused(Refusal),
}

enum State {
    Free {
        next_free: u32,
    },
    /// Linked into `list` (a worker index or `SHARED`).
    Linked {
        list: u32,
        prev: u32,
        next: u32,
    },
    /// Unlinked with an outcome its future has not collected yet.
    Done(Outcome),
}

struct Node {
    waker: Option<Waker>,
    state: State,
    /// A keyed caller: it waits for its worker through a reconnection.
    keyed: bool,
}

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
    len: u32,
}

const EMPTY: List = List {
    head: NIL,
    tail: NIL,
    len: 0,
};

pub(super) struct Waiters {
    nodes: Vec<Node>,
    free: u32,
    shared: List,
    workers: Box<[List]>,
    /// Waiters queued for the workers of each state word.
    per_word: Box<[u32]>,
    total: usize,
    /// Woken by every slow release while the pool shuts down.
    pub(super) closing_waker: Option<Waker>,
    /// Each worker's connection state.
    pub(super) life: Box<[Life]>,
    /// Down workers asked to try connecting now, until their reconnect task notices.
    pub(super) kicked: Box<[bool]>,
    /// The reconnect task of each down worker, while it waits out its backoff.
    pub(super) kick_wakers: Box<[Option<Waker>]>,
    /// The worker whose attempt failed last, and when.
    pub(super) last_failure: Option<(u32, u64)>,
}

impl Waiters {
    pub(super) fn new(workers: usize, words: usize) -> Self {
        Waiters {
            nodes: Vec::new(),
            free: NIL,
            shared: EMPTY,
            workers: vec![EMPTY; workers].into_boxed_slice(),
            per_word: vec![0; words].into_boxed_slice(),
            total: 0,
            closing_waker: None,
            life: vec![Life::Connecting; workers].into_boxed_slice(),
            kicked: vec![false; workers].into_boxed_slice(),
            kick_wakers: (0..workers).map(|_| None).collect(),
            last_failure: None,
        }
    }

    /// Whether any worker has a connection attempt in flight (or requested).
    pub(super) fn any_connecting(&self) -> bool {
        self.life.contains(&Life::Connecting)
    }

    /// The down worker whose latest attempt failed longest ago.
    pub(super) fn oldest_failed(&self) -> Option<usize> {
        (0..self.life.len())
            .filter_map(|i| match self.life[i] {
                Life::Failed(at) => Some((at, i)),
                _ => None,
            })
            .min()
            .map(|(_, i)| i)
    }

    /// Asks down worker `i` to try connecting now; returns its reconnect task's waker.
    pub(super) fn kick(&mut self, i: usize) -> Option<Waker> {
        if self.life[i] != Life::Retired {
            self.life[i] = Life::Connecting;
        }
        self.kicked[i] = true;
        self.kick_wakers[i].take()
    }

    /// Refuses the waiters of worker `i` (only the keyless ones unless `keyed_too`).
    pub(super) fn refuse_worker(
        &mut self,
        i: usize,
        keyed_too: bool,
        refusal: Refusal,
        wake: &mut Vec<Waker>,
    ) {
        let mut idx = self.workers[i].head;
        while idx != NIL {
            let State::Linked { next, .. } = self.nodes[idx as usize].state else {
                unreachable!("a queue links only linked nodes");
            };
            if keyed_too || !self.nodes[idx as usize].keyed {
                self.unlink(idx);
                wake.push(self.finish(idx, Outcome::Refused(refusal)));
            }
            idx = next;
        }
    }

    /// Refuses every waiter of the shared queue.
    pub(super) fn refuse_shared(&mut self, refusal: Refusal, wake: &mut Vec<Waker>) {
        while let Some(node) = self.pop_shared() {
            wake.push(self.finish(node, Outcome::Refused(refusal)));
        }
    }

    pub(super) fn len(&self) -> usize {
        self.total
    }

    pub(super) fn shared_len(&self) -> usize {
        self.shared.len as usize
    }

    pub(super) fn worker_len(&self, i: usize) -> usize {
        self.workers[i].len as usize
    }

    pub(super) fn word_waiters(&self, w: usize) -> u32 {
        self.per_word[w]
    }

    fn alloc(&mut self, waker: Waker, keyed: bool) -> u32 {
        if self.free != NIL {
            let idx = self.free;
            let node = &mut self.nodes[idx as usize];
            let State::Free { next_free } = node.state else {
                unreachable!("free list holds a used node");
            };
            self.free = next_free;
            node.waker = Some(waker);
            node.keyed = keyed;
            idx
        } else {
            self.nodes.push(Node {
                waker: Some(waker),
                state: State::Free { next_free: NIL },
                keyed,
            });
            (self.nodes.len() - 1) as u32
        }
    }

    fn release_node(&mut self, idx: u32) {
        let node = &mut self.nodes[idx as usize];
        node.waker = None;
        node.state = State::Free {
            next_free: self.free,
        };
        self.free = idx;
    }

    fn list_mut(&mut self, list: u32) -> &mut List {
        if list == SHARED {
            &mut self.shared
        } else {
            &mut self.workers[list as usize]
        }
    }

    fn link_back(&mut self, list: u32, idx: u32) {
        let l = *self.list_mut(list);
        self.nodes[idx as usize].state = State::Linked {
            list,
            prev: l.tail,
            next: NIL,
        };
        if l.tail != NIL {
            self.set_next(l.tail, idx);
        }
        let l = self.list_mut(list);
        if l.head == NIL {
            l.head = idx;
        }
        l.tail = idx;
        l.len += 1;
        self.count(list, 1);
    }

    fn link_front(&mut self, list: u32, idx: u32) {
        let l = *self.list_mut(list);
        self.nodes[idx as usize].state = State::Linked {
            list,
            prev: NIL,
            next: l.head,
        };
        if l.head != NIL {
            self.set_prev(l.head, idx);
        }
        let l = self.list_mut(list);
        if l.tail == NIL {
            l.tail = idx;
        }
        l.head = idx;
        l.len += 1;
        self.count(list, 1);
    }

    fn count(&mut self, list: u32, delta: i32) {
        self.total = (self.total as i64 + i64::from(delta)) as usize;
        if list != SHARED {
            let w = list as usize / WORD_BITS;
            self.per_word[w] = (i64::from(self.per_word[w]) + i64::from(delta)) as u32;
        }
    }

    fn set_next(&mut self, idx: u32, to: u32) {
        if let State::Linked { next, .. } = &mut self.nodes[idx as usize].state {
            *next = to;
        }
    }

    fn set_prev(&mut self, idx: u32, to: u32) {
        if let State::Linked { prev, .. } = &mut self.nodes[idx as usize].state {
            *prev = to;
        }
    }

    /// Unlinks a linked node; returns the list it was in.
    fn unlink(&mut self, idx: u32) -> u32 {
        let State::Linked { list, prev, next } = self.nodes[idx as usize].state else {
            unreachable!("unlinking a node that is not linked");
        };
        if prev != NIL {
            self.set_next(prev, next);
        } else {
            self.list_mut(list).head = next;
        }
        if next != NIL {
            self.set_prev(next, prev);
        } else {
            self.list_mut(list).tail = prev;
        }
        self.list_mut(list).len -= 1;
        self.count(list, -1);
        list
    }

    pub(super) fn push_worker(&mut self, i: usize, waker: Waker, keyed: bool) -> u32 {
        let idx = self.alloc(waker, keyed);
        self.link_back(i as u32, idx);
        idx
    }

    pub(super) fn push_shared(&mut self, waker: Waker, lifo: bool) -> u32 {
        let idx = self.alloc(waker, false);
        if lifo {
            self.link_front(SHARED, idx);
        } else {
            self.link_back(SHARED, idx);
        }
        idx
    }

    pub(super) fn pop_worker(&mut self, i: usize) -> Option<u32> {
        let head = self.workers[i].head;
        (head != NIL).then(|| {
            self.unlink(head);
            head
        })
    }

    /// The next shared waiter. LIFO queues push at the front, so both pop the front.
    pub(super) fn pop_shared(&mut self) -> Option<u32> {
        let head = self.shared.head;
        (head != NIL).then(|| {
            self.unlink(head);
            head
        })
    }

    /// Records `outcome` for an unlinked node and returns the waker to wake after unlocking.
    pub(super) fn finish(&mut self, idx: u32, outcome: Outcome) -> Waker {
        let node = &mut self.nodes[idx as usize];
        node.state = State::Done(outcome);
        node.waker
            .take()
            .expect("a linked waiter always holds a waker")
    }

    /// The outcome of a node, freeing it, or `None` (with the waker refreshed) if still queued.
    pub(super) fn poll_node(&mut self, idx: u32, waker: &Waker) -> Option<Outcome> {
        let node = &mut self.nodes[idx as usize];
        match node.state {
            State::Done(outcome) => {
                self.release_node(idx);
                Some(outcome)
            }
            State::Linked { .. } => {
                match &mut node.waker {
                    Some(w) if w.will_wake(waker) => {}
                    slot => *slot = Some(waker.clone()),
                }
                None
            }
            State::Free { .. } => unreachable!("polling a freed waiter"),
        }
    }

    /// Forgets a node whose future was dropped: `None` if it was still queued (now unlinked),
    /// else the outcome it never collected.
    pub(super) fn cancel(&mut self, idx: u32) -> Option<Outcome> {
        let outcome = match self.nodes[idx as usize].state {
            State::Linked { .. } => {
                self.unlink(idx);
                None
            }
            State::Done(outcome) => Some(outcome),
            State::Free { .. } => unreachable!("cancelling a freed waiter"),
        };
        self.release_node(idx);
        outcome
    }
}
