//! Printer-MIB and Host-Resources meanings: supply types, alert groups, severities, training
//! levels, and what descriptions say about a supply's kind, colour and part number.

pub(super) fn severity(level: i64) -> &'static str {
    match level {
        3 => "critical",
        4 | 5 => "warning",
        _ => "other",
    }
}

/// `prtAlertGroup` numbers as names (RFC 3805 `PrtAlertGroupTC`).
pub(super) fn alert_group(n: i64) -> String {
    match n {
        1 => "other",
        3 => "hostResourcesMIBStorageTable",
        4 => "hostResourcesMIBDeviceTable",
        5 => "generalPrinter",
        6 => "cover",
        7 => "localization",
        8 => "input",
        9 => "output",
        10 => "marker",
        11 => "markerSupplies",
        12 => "markerColorant",
        13 => "mediaPath",
        14 => "channel",
        15 => "interpreter",
        16 => "consoleDisplayBuffer",
        17 => "consoleLights",
        18 => "alert",
        30 => "finDevice",
        31 => "finSupply",
        32 => "finSupplyMediaInput",
        33 => "finAttribute",
        _ => return n.to_string(),
    }
    .into()
}

pub(super) fn training(n: i64) -> String {
    match n {
        1 => "other",
        2 => "unknown",
        3 => "untrained",
        4 => "trained",
        5 => "fieldService",
        6 => "management",
        7 => "noInterventionRequired",
        _ => return n.to_string(),
    }
    .into()
}

/// `PrtMarkerSuppliesTypeTC` to a supply kind, or `None` for other/unknown.
pub(super) fn supply_kind(n: i64) -> Option<&'static str> {
    Some(match n {
        3 | 21 => "toner",
        4 => "waste_toner",
        5 | 6 => "ink",
        7 | 13 => "ribbon",
        8 | 14 | 24 => "waste_ink",
        9 => "drum",
        10 => "developer",
        11 | 15 | 17 | 19 | 22 => "fuser",
        18 => "cleaner_unit",
        20 => "transfer_belt",
        29 | 32 => "staples",
        _ => return None,
    })
}

/// A supply kind from its description, for rows typed other/unknown.
pub(super) fn kind_from_description(d: &str) -> &'static str {
    let d = d.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| d.contains(w));
    if has(&["waste", "resttoner", "collection", "récupér"]) {
        if has(&["ink"]) {
            "waste_ink"
        } else {
            "waste_toner"
        }
    } else if has(&["maintenance", "wartung", "kit"]) {
        "maintenance_kit"
    } else if has(&[
        "drum",
        "trommel",
        "opc",
        "imaging unit",
        "photoconductor",
        "tambour",
    ]) {
        "drum"
    } else if has(&["fuser", "fixing", "fixier"]) {
        "fuser"
    } else if has(&["transfer", "belt"]) {
        "transfer_belt"
    } else if has(&["developer", "entwickler"]) {
        "developer"
    } else if has(&["staple", "heft"]) {
        "staples"
    } else if has(&["ink", "tinte"]) {
        "ink"
    } else if has(&["toner", "cartridge", "kassette", "print cartridge"]) {
        "toner"
    } else {
        "other"
    }
}

/// A colour named in a colorant value or a description.
pub fn color_from_text(t: &str) -> Option<&'static str> {
    let t = t.to_lowercase();
    let has = |w: &str| t.contains(w);
    Some(if has("light cyan") || has("photo cyan") {
        "light_cyan"
    } else if has("light magenta") || has("photo magenta") {
        "light_magenta"
    } else if has("cyan") {
        "cyan"
    } else if has("magenta") {
        "magenta"
    } else if has("yellow") || has("gelb") || has("jaune") {
        "yellow"
    } else if has("black") || has("schwarz") || has("noir") || has("nero") || has("negro") {
        "black"
    } else {
        return None;
    })
}

pub(super) fn part_number(d: &str) -> String {
    for marker in ["PN ", "P/N ", "PN:", "P/N:"] {
        if let Some(i) = d.find(marker) {
            let rest = d[i + marker.len()..].trim();
            return rest
                .split([' ', ',', ';', ')'])
                .next()
                .unwrap_or_default()
                .to_owned();
        }
    }
    String::new()
}
