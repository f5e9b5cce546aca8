//! Console sessions, kept in memory on the server: a random id in a cookie, the bearer token it
//! stands for (authenticated again on every request, so a revoked token ends its sessions), and
//! the CSRF token every form of the session carries. Bounded in number; each expires after an
//! idle time and after an absolute lifetime.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Sessions held at most; signing in beyond this ends the least recently used one.
pub const MAX_SESSIONS: usize = 1_000;
/// A session unused for this long ends.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after sign-in, however busy.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(8 * 60 * 60);

/// What a live session knows.
#[derive(Clone)]
pub struct Session {
    pub token: String,
    pub csrf: String,
}

struct Entry {
    session: Session,
    created: Instant,
    used: Instant,
}

/// The server's sessions.
pub struct Sessions {
    map: Mutex<HashMap<String, Entry>>,
    max: usize,
    idle: Duration,
    absolute: Duration,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions::new(MAX_SESSIONS, IDLE_TIMEOUT, ABSOLUTE_TIMEOUT)
    }
}

/// 32 random bytes from the operating system, hex: 256 bits. `None` when the source fails
/// (then no session or form token is made at all).
pub fn random_hex() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Equality in time independent of where the inputs first differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Sessions {
    pub fn new(max: usize, idle: Duration, absolute: Duration) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            max: max.max(1),
            idle,
            absolute,
        }
    }

    fn live(&self, e: &Entry, now: Instant) -> bool {
        now.duration_since(e.used) < self.idle && now.duration_since(e.created) < self.absolute
    }

    /// Starts a session for `token`; returns its id.
    pub fn start(&self, token: &str) -> Option<String> {
        let (id, csrf) = (random_hex()?, random_hex()?);
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= self.max {
            map.retain(|_, e| self.live(e, now));
        }
        while map.len() >= self.max {
            let oldest = map
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        map.insert(
            id.clone(),
            Entry {
                session: Session {
                    token: token.to_owned(),
                    csrf,
                },
                created: now,
                used: now,
            },
        );
        Some(id)
    }

    /// The live session of `id`, marked as used; an expired one is removed.
    pub fn get(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let live = self.live(map.get(id)?, now);
        if !live {
            map.remove(id);
            return None;
        }
        let e = map.get_mut(id)?;
        e.used = now;
        Some(e.session.clone())
    }

    pub fn end(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]
    use super::*;

    #[test]
    fn ids_are_random_256_bit_and_bound_to_their_token() {
        let s = Sessions::default();
        let (a, b) = (s.start("tok-a").unwrap(), s.start("tok-b").unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(s.get(&a).unwrap().token, "tok-a");
        assert_ne!(s.get(&a).unwrap().csrf, s.get(&b).unwrap().csrf);
        assert!(s.get("not-a-session").is_none());
        s.end(&a);
        assert!(s.get(&a).is_none());
        assert!(s.get(&b).is_some());
    }

    #[test]
    fn the_number_is_bounded_and_the_least_recently_used_goes_first() {
        let s = Sessions::new(2, IDLE_TIMEOUT, ABSOLUTE_TIMEOUT);
        let a = s.start("a").unwrap();
        let b = s.start("b").unwrap();
        std::thread::sleep(Duration::from_millis(2));
        assert!(s.get(&a).is_some(), "a is now the more recently used");
        let c = s.start("c").unwrap();
        assert_eq!(s.len(), 2);
        assert!(s.get(&b).is_none(), "b was the least recently used");
        assert!(s.get(&a).is_some() && s.get(&c).is_some());
    }

    #[test]
    fn sessions_expire_when_idle_and_after_their_lifetime() {
        let idle = Sessions::new(10, Duration::from_millis(30), ABSOLUTE_TIMEOUT);
        let a = idle.start("a").unwrap();
        std::thread::sleep(Duration::from_millis(60));
        assert!(idle.get(&a).is_none());
        assert_eq!(idle.len(), 0, "an expired session is removed when met");

        let absolute = Sessions::new(10, IDLE_TIMEOUT, Duration::from_millis(60));
        let b = absolute.start("b").unwrap();
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(10));
            assert!(absolute.get(&b).is_some(), "use keeps it from idling");
        }
        std::thread::sleep(Duration::from_millis(60));
        assert!(absolute.get(&b).is_none(), "but not past its lifetime");
    }

    #[test]
    fn comparison_is_exact() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        assert!(!same("", "a"));
    }
}
