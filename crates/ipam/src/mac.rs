//! MAC addresses: parsing (Neutron's accepted forms), canonical formatting
//! and random generation from `base_mac`.
//!
//! # Decisions
//!
//! * [`parse_mac`] accepts exactly the string forms netaddr's EUI-48 parser
//!   accepts (which is what neutron-lib's `validate_mac_address` relies on),
//!   case-insensitively:
//!   six groups of 1–2 hex digits separated by `:` or by `-`; three groups
//!   of 1–4 hex digits separated by `:`, `-` or `.` (Cisco); two groups of
//!   5–6 hex digits separated by `:` or `-` (PostgreSQL); 12 or 11 bare hex
//!   digits. One separator kind per string. Whitespace anywhere is rejected
//!   (`validate_no_whitespace`).
//! * The all-zero address and the broadcast address are rejected
//!   (`constants.INVALID_MAC_ADDRESSES`). Other multicast addresses are
//!   **accepted** for a port's `mac_address`: neutron-lib's
//!   `validate_mac_address_not_multicast` exists but only allowed-address
//!   pairs use it. [`is_multicast_mac`] is provided for that check.
//! * [`generate_mac`] follows neutron-lib's `get_random_mac`: octets 1–3 of
//!   `base_mac` are kept, octet 4 is kept when it is not zero, the rest is
//!   random. [`parse_base_mac`] reads the option the way Neutron does
//!   (`base_mac.split(':')`, each part read as hex), additionally requiring
//!   each part to be 1–2 hex digits so it is a real octet.

use rand::Rng;

use crate::error::IpamError;

/// Parses a MAC address in any form Neutron accepts and returns its octets.
/// The all-zero and broadcast addresses are rejected.
pub fn parse_mac(s: &str) -> Result<[u8; 6], IpamError> {
    let err = || IpamError::InvalidMacAddress { mac: s.to_string() };
    let value = parse_mac_value(s).ok_or_else(err)?;
    if value == 0 || value == 0xffff_ffff_ffff {
        return Err(err());
    }
    Ok(to_octets(value))
}

/// The 48-bit value of a MAC string in one of netaddr's EUI-48 forms.
fn parse_mac_value(s: &str) -> Option<u64> {
    if s.is_empty() || !s.is_ascii() || s.chars().any(|c| c.is_ascii_whitespace()) {
        return None;
    }
    let separator = s.chars().find(|c| matches!(c, ':' | '-' | '.'));
    let Some(sep) = separator else {
        return ((s.len() == 12 || s.len() == 11) && is_hex(s)).then(|| u64::from_str_radix(s, 16).ok()).flatten();
    };
    let groups: Vec<&str> = s.split(sep).collect();
    let (min_len, max_len, group_bits) = match (groups.len(), sep) {
        (6, ':' | '-') => (1, 2, 8),
        (3, _) => (1, 4, 16),
        (2, ':' | '-') => (5, 6, 24),
        _ => return None,
    };
    let mut value = 0u64;
    for g in groups {
        if g.len() < min_len || g.len() > max_len || !is_hex(g) {
            return None;
        }
        value = (value << group_bits) | u64::from_str_radix(g, 16).ok()?;
    }
    Some(value)
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn to_octets(value: u64) -> [u8; 6] {
    let b = value.to_be_bytes();
    [b[2], b[3], b[4], b[5], b[6], b[7]]
}

/// The canonical form Neutron stores and returns: lower case, two digits
/// per octet, colon separated (`fa:16:3e:00:11:22`).
pub fn format_mac(mac: [u8; 6]) -> String {
    mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// Whether the group (multicast) bit, the least significant bit of the
/// first octet, is set (broadcast included).
pub fn is_multicast_mac(mac: [u8; 6]) -> bool {
    mac[0] & 0x01 != 0
}

/// Parses the `base_mac` configuration value: six colon-separated hex
/// octets (`fa:16:3e:00:00:00`).
pub fn parse_base_mac(s: &str) -> Result<[u8; 6], IpamError> {
    let err = || IpamError::InvalidBaseMac { value: s.to_string() };
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(err());
    }
    let mut mac = [0u8; 6];
    for (octet, part) in mac.iter_mut().zip(parts) {
        if part.is_empty() || part.len() > 2 || !is_hex(part) {
            return Err(err());
        }
        *octet = u8::from_str_radix(part, 16).map_err(|_| err())?;
    }
    Ok(mac)
}

/// A random MAC derived from `base`: octets 1–3 copied, octet 4 copied when
/// non-zero and random otherwise, octets 5–6 random.
pub fn generate_mac<R: Rng + ?Sized>(base: [u8; 6], rng: &mut R) -> [u8; 6] {
    let random: [u8; 3] = rng.gen();
    let fourth = if base[3] != 0 { base[3] } else { random[0] };
    [base[0], base[1], base[2], fourth, random[1], random[2]]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashSet;

    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    const M: [u8; 6] = [0xfa, 0x16, 0x3e, 0x33, 0x44, 0x55];

    #[test]
    fn accepted_forms() {
        for s in [
            "fa:16:3e:33:44:55",
            "FA:16:3E:33:44:55",
            "Fa:16:3e:33:44:55",
            "fa-16-3e-33-44-55",
            "FA-16-3E-33-44-55",
            "fa16.3e33.4455",
            "fa16:3e33:4455",
            "fa16-3e33-4455",
            "fa163e:334455",
            "fa163e-334455",
            "fa163e334455",
            "FA163E334455",
        ] {
            assert_eq!(parse_mac(s), Ok(M), "{s}");
        }
        // Short groups are zero-extended, as netaddr does.
        assert_eq!(parse_mac("fa:16:3e:3:4:5"), Ok([0xfa, 0x16, 0x3e, 0x03, 0x04, 0x05]));
        assert_eq!(parse_mac("a16.3e33.4455"), Ok([0x0a, 0x16, 0x3e, 0x33, 0x44, 0x55]));
        assert_eq!(parse_mac("a163e:334455"), Ok([0x0a, 0x16, 0x3e, 0x33, 0x44, 0x55]));
        assert_eq!(parse_mac("a163e334455"), Ok([0x0a, 0x16, 0x3e, 0x33, 0x44, 0x55]));
        // Multicast is accepted (only the all-zero and broadcast MACs are not).
        assert_eq!(parse_mac("01:00:5e:00:00:01"), Ok([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]));
    }

    #[test]
    fn rejected_forms() {
        for s in [
            "",
            "fa:16:3e:33:44",
            "fa:16:3e:33:44:55:66",
            "fa:16:3e:33:44:555",
            "fa:16:3e:33:44:",
            "fa:16-3e:33:44:55",
            "fa.16.3e.33.44.55",
            "fa163.e334455",
            "fa163e.334455",
            "fa163e:3344",
            "fa16:3e33:44556",
            "fa163e3344556",
            "fa163e33445g",
            "fa:16:3e:33:44:gg",
            "fa:16:3e:33:44:55 ",
            " fa:16:3e:33:44:55",
            "fa:16:3e:33:44:55\n",
            "ｆａ:16:3e:33:44:55",
            "00:00:00:00:00:00",
            "0:0:0:0:0:0",
            "000000000000",
            "ff:ff:ff:ff:ff:ff",
            "FF-FF-FF-FF-FF-FF",
            "ffff.ffff.ffff",
        ] {
            assert_eq!(parse_mac(s), Err(IpamError::InvalidMacAddress { mac: s.to_string() }), "{s:?}");
        }
        assert_eq!(
            parse_mac("zz").unwrap_err().to_string(),
            "Invalid input for mac_address. Reason: 'zz' is not a valid MAC address."
        );
    }

    #[test]
    fn formatting_is_canonical() {
        assert_eq!(format_mac(M), "fa:16:3e:33:44:55");
        assert_eq!(format_mac([0, 1, 2, 0xa, 0xb, 0xff]), "00:01:02:0a:0b:ff");
        assert_eq!(parse_mac("FA-16-3E-03-04-05").map(format_mac), Ok("fa:16:3e:03:04:05".to_string()));
    }

    #[test]
    fn multicast_bit() {
        assert!(!is_multicast_mac(M));
        assert!(is_multicast_mac([0x01, 0, 0x5e, 0, 0, 1]));
        assert!(is_multicast_mac([0x33, 0x33, 0, 0, 0, 1]));
        assert!(is_multicast_mac([0xff; 6]));
        assert!(!is_multicast_mac([0x02, 0, 0, 0, 0, 1]));
    }

    #[test]
    fn base_mac_parsing() {
        assert_eq!(parse_base_mac("fa:16:3e:00:00:00"), Ok([0xfa, 0x16, 0x3e, 0, 0, 0]));
        assert_eq!(parse_base_mac("FA:16:3E:4F:00:00"), Ok([0xfa, 0x16, 0x3e, 0x4f, 0, 0]));
        assert_eq!(parse_base_mac("fa:16:3e:0:0:0"), Ok([0xfa, 0x16, 0x3e, 0, 0, 0]));
        for s in [
            "",
            "fa:16:3e:00:00",
            "fa:16:3e:00:00:00:00",
            "fa-16-3e-00-00-00",
            "fa:16:3e:100:00:00",
            "fa:16:3e::00:00",
            "fa:16:3e:xx:00:00",
        ] {
            let err = parse_base_mac(s).unwrap_err();
            assert_eq!(err, IpamError::InvalidBaseMac { value: s.to_string() });
            assert_eq!(err.neutron_type(), "InvalidConfigurationOption");
        }
        assert_eq!(
            parse_base_mac("fa:16").unwrap_err().to_string(),
            "An invalid value was provided for base_mac: fa:16."
        );
    }

    #[test]
    fn generation_keeps_three_octets_when_fourth_is_zero() {
        let base = [0xfa, 0x16, 0x3e, 0, 0, 0];
        let mut r = StdRng::seed_from_u64(11);
        let mut fourth = HashSet::new();
        let mut tails = HashSet::new();
        for _ in 0..500 {
            let mac = generate_mac(base, &mut r);
            assert_eq!(mac[..3], [0xfa, 0x16, 0x3e]);
            fourth.insert(mac[3]);
            tails.insert((mac[4], mac[5]));
        }
        assert!(fourth.len() > 100, "4th octet should be random");
        assert!(tails.len() > 400, "5th/6th octets should be random");
    }

    #[test]
    fn generation_keeps_non_zero_fourth_octet() {
        let base = [0xfa, 0x16, 0x3e, 0x4f, 0x12, 0x34];
        let mut r = StdRng::seed_from_u64(12);
        let mut tails = HashSet::new();
        for _ in 0..500 {
            let mac = generate_mac(base, &mut r);
            assert_eq!(mac[..4], [0xfa, 0x16, 0x3e, 0x4f]);
            tails.insert((mac[4], mac[5]));
        }
        assert!(tails.len() > 400, "last two octets should be random, not copied from base");
    }

    #[test]
    fn generated_macs_round_trip() {
        let mut r = StdRng::seed_from_u64(13);
        for _ in 0..100 {
            let mac = generate_mac([0xfa, 0x16, 0x3e, 0, 0, 0], &mut r);
            assert_eq!(parse_mac(&format_mac(mac)), Ok(mac));
        }
    }
}
