//! Bearer tokens: 32 random bytes from the operating system, shown once; the store keeps only
//! their SHA-256.

use cleanroom_store::{Audit, TokenRow};

use crate::jobs::sha256_hex;
use crate::{Error, Platform, Principal, Resource, Result, Role};

/// Every token starts with this, so that a leaked one is recognisable in a secret scan.
pub const TOKEN_PREFIX: &str = "crt_";

/// Whether `id` may name a principal: lowercase letters, digits, `-`, `_` and `.`, 1 to 64.
fn is_principal(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

/// A token's id: its SHA-256, hex, as the store keeps it.
pub fn token_id(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

impl Platform {
    /// Issues a token for `principal` in `role`, recorded as done by `issuer`. Returns the
    /// token: it is not stored and cannot be shown again. Its id, for revocation, is
    /// [`token_id`] of it.
    pub fn issue_token(&self, issuer: &str, role: Role, principal: &str) -> Result<String> {
        if !is_principal(principal) {
            return Err(Error::Invalid(
                "a principal is 1 to 64 lowercase letters, digits, `-`, `_` or `.`".into(),
            ));
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|_| Error::Internal("the system's random source failed".into()))?;
        let token: String = std::iter::once(TOKEN_PREFIX.to_owned())
            .chain(secret.iter().map(|b| format!("{b:02x}")))
            .collect();
        let now = self.now();
        self.store.add_token(
            &TokenRow {
                hash: token_id(&token),
                role: role.as_str().into(),
                principal: principal.into(),
                created_at: now,
                revoked_at: None,
            },
            &Audit::new(
                now,
                issuer,
                "admin",
                "token.issue",
                principal,
                role.as_str(),
            ),
        )?;
        Ok(token)
    }

    /// An admin issues a token (see [`Platform::issue_token`]).
    pub fn issue_token_as(&self, who: &Principal, role: Role, principal: &str) -> Result<String> {
        self.authorize(who, "token.manage", &Resource::Platform)?;
        self.issue_token(&who.id, role, principal)
    }

    /// An admin revokes a token by its id (the SHA-256 the store keeps, shown when it was
    /// issued). Returns false when no such token is in force.
    pub fn revoke_token(&self, who: &Principal, id: &str) -> Result<bool> {
        self.authorize(who, "token.manage", &Resource::Platform)?;
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::Invalid("a token id is 64 hex digits".into()));
        }
        let now = self.now();
        Ok(self.store.revoke_token(
            &id.to_ascii_lowercase(),
            now,
            &Audit::new(
                now,
                &who.id,
                who.role.as_str(),
                "token.revoke",
                &id.to_ascii_lowercase(),
                "revoked",
            ),
        )?)
    }

    /// The principal a bearer token stands for, if it is known and not revoked.
    pub fn authenticate(&self, token: &str) -> Result<Option<Principal>> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
            return Ok(None);
        }
        let Some(row) = self.store.token(&token_id(token))? else {
            return Ok(None);
        };
        if row.revoked_at.is_some() {
            return Ok(None);
        }
        Ok(Role::parse(&row.role).map(|role| Principal {
            id: row.principal,
            role,
        }))
    }
}
