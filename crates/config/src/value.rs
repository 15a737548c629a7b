//! Parsing of single option values into their types.
//!
//! These functions are used both for file values and for command-line
//! overrides; each returns a [`ValueError`] with a short reason that the
//! caller combines with the file, section and key.

use std::net::IpAddr;

use crate::error::ValueError;
use crate::sections::VlanRange;

/// Parses a boolean: `true/false`, `yes/no`, `on/off`, `1/0`, in any case.
pub fn parse_bool(text: &str) -> Result<bool, ValueError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(ValueError::new("not a boolean (expected true/false, yes/no, on/off or 1/0)")),
    }
}

/// Parses a decimal integer within `min..=max`.
pub fn parse_int(text: &str, min: i64, max: i64) -> Result<i64, ValueError> {
    let number: i64 = text.trim().parse().map_err(|_| ValueError::new("not an integer"))?;
    if number < min || number > max {
        return Err(out_of_range(min, max));
    }
    Ok(number)
}

/// Parses a decimal integer within `min..=max` into the integer type `T`.
pub fn parse_int_as<T: TryFrom<i64>>(text: &str, min: i64, max: i64) -> Result<T, ValueError> {
    let number = parse_int(text, min, max)?;
    T::try_from(number).map_err(|_| out_of_range(min, max))
}

fn out_of_range(min: i64, max: i64) -> ValueError {
    // Bounds up to the type's maximum read better as "at least".
    if max >= i64::from(u32::MAX) {
        ValueError::new(format!("must be at least {min}"))
    } else {
        ValueError::new(format!("must be between {min} and {max}"))
    }
}

/// Parses a TCP/UDP port, `1..=65535`.
pub fn parse_port(text: &str) -> Result<u16, ValueError> {
    parse_int_as(text, 1, 65535)
}

/// Parses a string option: the text as it is (already trimmed by the parser).
pub fn parse_string(text: &str) -> Result<String, ValueError> {
    Ok(text.to_string())
}

/// Parses an optional string: an empty value means unset.
pub fn parse_optional_string(text: &str) -> Result<Option<String>, ValueError> {
    let text = text.trim();
    Ok((!text.is_empty()).then(|| text.to_string()))
}

/// Parses a comma-separated list: items trimmed, empty items dropped, so an
/// empty string is an empty list.
pub fn parse_list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|item| !item.is_empty()).map(str::to_string).collect()
}

/// Parses an IPv4 or IPv6 address.
pub fn parse_ip(text: &str) -> Result<IpAddr, ValueError> {
    text.trim().parse().map_err(|_| ValueError::new("not an IP address"))
}

/// Parses a `min:max` range whose bounds lie within `lowest..=highest`.
pub fn parse_range(text: &str, lowest: i64, highest: i64) -> Result<(i64, i64), ValueError> {
    let (min, max) = text.trim().split_once(':').ok_or_else(|| ValueError::new("expected MIN:MAX"))?;
    let min = parse_int(min, lowest, highest).map_err(|e| ValueError::new(format!("min {}", e.reason)))?;
    let max = parse_int(max, lowest, highest).map_err(|e| ValueError::new(format!("max {}", e.reason)))?;
    if min > max {
        return Err(ValueError::new("min is greater than max"));
    }
    Ok((min, max))
}

/// Parses a `min:max` range within `lowest..=highest` into the integer type `T`.
pub fn parse_range_as<T: TryFrom<i64>>(text: &str, lowest: i64, highest: i64) -> Result<(T, T), ValueError> {
    let (min, max) = parse_range(text, lowest, highest)?;
    let convert = |n: i64| T::try_from(n).map_err(|_| out_of_range(lowest, highest));
    Ok((convert(min)?, convert(max)?))
}

/// Parses a list of `min:max` ranges (e.g. `vni_ranges = 1:1000,2000:3000`).
pub fn parse_range_list<T: TryFrom<i64>>(text: &str, lowest: i64, highest: i64) -> Result<Vec<(T, T)>, ValueError> {
    parse_each(text, |item| parse_range_as(item, lowest, highest))
}

/// Parses one `network_vlan_ranges` entry: `physnet` or `physnet:min:max`
/// with `1 <= min <= max <= 4094`.
pub fn parse_vlan_range(text: &str) -> Result<VlanRange, ValueError> {
    let text = text.trim();
    let (physnet, range) = match text.split_once(':') {
        None => (text, None),
        Some((physnet, range)) => (physnet, Some(range)),
    };
    if physnet.trim().is_empty() {
        return Err(ValueError::new("the physical network name is empty"));
    }
    let range = match range {
        None => None,
        Some(range) => Some(parse_range_as::<u16>(range, 1, 4094).map_err(|e| {
            if e.reason == "expected MIN:MAX" {
                ValueError::new("expected PHYSNET or PHYSNET:MIN:MAX")
            } else {
                e
            }
        })?),
    };
    Ok(VlanRange { physical_network: physnet.trim().to_string(), range })
}

/// Parses one `physnet:mtu` mapping (`physical_network_mtus`).
pub fn parse_physnet_mtu(text: &str) -> Result<(String, u32), ValueError> {
    let (physnet, mtu) = text.trim().rsplit_once(':').ok_or_else(|| ValueError::new("expected PHYSNET:MTU"))?;
    if physnet.trim().is_empty() {
        return Err(ValueError::new("the physical network name is empty"));
    }
    let mtu =
        parse_int_as::<u32>(mtu, 68, i64::from(u32::MAX)).map_err(|e| ValueError::new(format!("MTU {}", e.reason)))?;
    Ok((physnet.trim().to_string(), mtu))
}

/// Parses a unicast base MAC address: six two-digit hex octets separated by
/// `:`, the low bit of the first octet clear. Returns it in lower case.
pub fn parse_base_mac(text: &str) -> Result<String, ValueError> {
    let text = text.trim();
    let octets: Vec<&str> = text.split(':').collect();
    let well_formed =
        octets.len() == 6 && octets.iter().all(|o| o.len() == 2 && o.chars().all(|c| c.is_ascii_hexdigit()));
    if !well_formed {
        return Err(ValueError::new("not a MAC address (expected six hex octets like fa:16:3e:00:00:00)"));
    }
    let first = u8::from_str_radix(octets[0], 16).map_err(|_| ValueError::new("not a MAC address"))?;
    if first & 1 == 1 {
        return Err(ValueError::new("is a multicast address (the low bit of the first octet must be 0)"));
    }
    Ok(text.to_ascii_lowercase())
}

/// Parses every item of a comma-separated list with `parse`; an error names
/// the failing item when the list has several.
pub fn parse_each<T>(text: &str, parse: impl Fn(&str) -> Result<T, ValueError>) -> Result<Vec<T>, ValueError> {
    let items = parse_list(text);
    let several = items.len() > 1;
    items
        .iter()
        .map(|item| {
            parse(item).map_err(|e| if several { ValueError::new(format!("entry '{item}': {}", e.reason)) } else { e })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bools() {
        for yes in ["true", "True", "YES", "on", "1", " On "] {
            assert_eq!(parse_bool(yes), Ok(true), "{yes}");
        }
        for no in ["false", "FALSE", "no", "Off", "0"] {
            assert_eq!(parse_bool(no), Ok(false), "{no}");
        }
        for bad in ["", "2", "y", "enabled"] {
            assert!(parse_bool(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ints_with_ranges() {
        assert_eq!(parse_int("42", 0, 100), Ok(42));
        assert_eq!(parse_int(" -1 ", -1, 10), Ok(-1));
        assert_eq!(parse_int("101", 0, 100), Err(ValueError::new("must be between 0 and 100")));
        assert_eq!(parse_int("67", 68, i64::MAX), Err(ValueError::new("must be at least 68")));
        assert_eq!(parse_int("x", 0, 1), Err(ValueError::new("not an integer")));
        assert_eq!(parse_int("", 0, 1), Err(ValueError::new("not an integer")));
        assert_eq!(parse_int_as::<u32>("1500", 68, i64::from(u32::MAX)), Ok(1500u32));
    }

    #[test]
    fn ports() {
        assert_eq!(parse_port("9696"), Ok(9696));
        assert_eq!(parse_port("65535"), Ok(65535));
        assert!(parse_port("0").is_err());
        assert!(parse_port("65536").is_err());
        assert!(parse_port("http").is_err());
    }

    #[test]
    fn strings() {
        assert_eq!(parse_string("ml2"), Ok("ml2".to_string()));
        assert_eq!(parse_optional_string(""), Ok(None));
        assert_eq!(parse_optional_string("ren3"), Ok(Some("ren3".to_string())));
    }

    #[test]
    fn lists() {
        assert_eq!(parse_list("flat,vlan,vxlan"), ["flat", "vlan", "vxlan"]);
        assert_eq!(parse_list(" a , b ,, c , "), ["a", "b", "c"]);
        assert_eq!(parse_list("a,\nb"), ["a", "b"]);
        assert!(parse_list("").is_empty());
        assert!(parse_list(" , ").is_empty());
    }

    #[test]
    fn ip_addresses() {
        assert_eq!(parse_ip("127.0.0.1"), Ok("127.0.0.1".parse().expect("ip")));
        assert_eq!(parse_ip("::1"), Ok("::1".parse().expect("ip")));
        assert!(parse_ip("ren3").is_err());
        assert!(parse_ip("").is_err());
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("1:1000", 1, 16_777_215), Ok((1, 1000)));
        assert_eq!(parse_range(" 7:7 ", 1, 10), Ok((7, 7)));
        assert_eq!(parse_range("5:1", 1, 10), Err(ValueError::new("min is greater than max")));
        assert_eq!(parse_range("0:5", 1, 10), Err(ValueError::new("min must be between 1 and 10")));
        assert_eq!(
            parse_range("1:16777216", 1, 16_777_215),
            Err(ValueError::new("max must be between 1 and 16777215"))
        );
        assert_eq!(parse_range("5", 1, 10), Err(ValueError::new("expected MIN:MAX")));
        assert_eq!(parse_range("0:1", 1, i64::from(u32::MAX)), Err(ValueError::new("min must be at least 1")));
        assert_eq!(parse_range_as::<u32>("1:4294967295", 1, i64::from(u32::MAX)), Ok((1u32, u32::MAX)));
        assert_eq!(parse_range_list::<u32>("1:10, 20:30", 1, 100), Ok(vec![(1, 10), (20, 30)]));
        assert_eq!(
            parse_range_list::<u32>("1:10,5:1", 1, 100),
            Err(ValueError::new("entry '5:1': min is greater than max"))
        );
    }

    #[test]
    fn vlan_ranges() {
        assert_eq!(parse_vlan_range("physnet1"), Ok(VlanRange { physical_network: "physnet1".into(), range: None }));
        assert_eq!(
            parse_vlan_range("provider:100:200"),
            Ok(VlanRange { physical_network: "provider".into(), range: Some((100, 200)) })
        );
        assert!(parse_vlan_range("provider:0:10").is_err());
        assert!(parse_vlan_range("provider:1:4095").is_err());
        assert_eq!(parse_vlan_range("provider:200:100"), Err(ValueError::new("min is greater than max")));
        assert_eq!(parse_vlan_range("provider:100"), Err(ValueError::new("expected PHYSNET or PHYSNET:MIN:MAX")));
        assert!(parse_vlan_range(":1:2").is_err());
    }

    #[test]
    fn physnet_mtus() {
        assert_eq!(parse_physnet_mtu("provider:9000"), Ok(("provider".into(), 9000)));
        assert!(parse_physnet_mtu("provider").is_err());
        assert!(parse_physnet_mtu("provider:10").is_err());
    }

    #[test]
    fn base_macs() {
        assert_eq!(parse_base_mac("FA:16:3E:00:00:00"), Ok("fa:16:3e:00:00:00".into()));
        assert!(parse_base_mac("fa:16:3e:00:00").is_err());
        assert!(parse_base_mac("fa:16:3e:00:00:zz").is_err());
        assert_eq!(
            parse_base_mac("01:00:5e:00:00:00"),
            Err(ValueError::new("is a multicast address (the low bit of the first octet must be 0)"))
        );
    }
}
