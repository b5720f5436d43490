//! Marker supplies (toner, drums, waste containers, ...), with Printer-MIB level semantics.

closed_enum! {
    /// What a supply is. Collectors map `prtMarkerSuppliesType` and vendor tables to these.
    pub enum SupplyKind ("supply kind") {
        Toner => "toner",
        Ink => "ink",
        /// Photoconductor (OPC) drum or imaging unit.
        Drum => "drum",
        Developer => "developer",
        Fuser => "fuser",
        TransferBelt => "transfer_belt",
        TransferRoller => "transfer_roller",
        /// Waste toner container; its level counts free space.
        WasteToner => "waste_toner",
        /// Waste ink pad or box; its level counts free space.
        WasteInk => "waste_ink",
        Staples => "staples",
        MaintenanceKit => "maintenance_kit",
        CleanerUnit => "cleaner_unit",
        Ribbon => "ribbon",
        Other => "other",
        Unknown => "unknown",
    }
}

impl SupplyKind {
    /// Containers whose level counts the space left, not the supply left.
    pub fn counts_free_space(self) -> bool {
        matches!(self, SupplyKind::WasteToner | SupplyKind::WasteInk)
    }
}

/// Level value: the supply is present but the device cannot say how much is left.
pub const LEVEL_SOME_REMAINING: i32 = -3;
/// Level or capacity value: unknown.
pub const LEVEL_UNKNOWN: i32 = -2;
/// Level or capacity value: no restriction (Printer-MIB "other").
pub const LEVEL_NO_LIMIT: i32 = -1;

/// One supply as reported. `level` and `max` keep their Printer-MIB meanings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Supply {
    pub kind: SupplyKind,
    /// Colorant name as the device reports it (`black`, `cyan`, ...), lower-cased; may be empty.
    pub color: String,
    pub description: String,
    pub part_number: String,
    /// `-3` some remaining, `-2` unknown, `-1` no limit, otherwise the amount left.
    pub level: i32,
    /// `-2` unknown, `-1` no limit, otherwise the capacity.
    pub max: i32,
}

impl Supply {
    /// The level as a percentage of capacity, when both are real amounts.
    pub fn percent(&self) -> Option<u8> {
        if self.level < 0 || self.max <= 0 {
            return None;
        }
        let percent = (i64::from(self.level) * 100 / i64::from(self.max)).clamp(0, 100);
        Some(percent as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn supply(level: i32, max: i32) -> Supply {
        Supply {
            kind: SupplyKind::Toner,
            color: "black".into(),
            description: String::new(),
            part_number: String::new(),
            level,
            max,
        }
    }

    #[test]
    fn percentage_only_where_level_and_capacity_are_amounts() {
        assert_eq!(supply(50, 200).percent(), Some(25));
        assert_eq!(supply(300, 200).percent(), Some(100));
        assert_eq!(supply(LEVEL_SOME_REMAINING, 200).percent(), None);
        assert_eq!(supply(LEVEL_UNKNOWN, 200).percent(), None);
        assert_eq!(supply(50, LEVEL_NO_LIMIT).percent(), None);
        assert_eq!(supply(50, 0).percent(), None);
    }
}
