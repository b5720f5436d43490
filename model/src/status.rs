//! Device and printer status and the detected-error flags of `hrPrinterDetectedErrorState`.

closed_enum! {
    /// `hrDeviceStatus`.
    pub enum DeviceStatus ("device status") {
        Running => "running",
        Warning => "warning",
        Down => "down",
        Testing => "testing",
        Unknown => "unknown",
    }
}

closed_enum! {
    /// `hrPrinterStatus`.
    pub enum PrinterStatus ("printer status") {
        Idle => "idle",
        Printing => "printing",
        Warmup => "warmup",
        Other => "other",
        Unknown => "unknown",
    }
}

closed_enum! {
    /// The conditions of `hrPrinterDetectedErrorState` (RFC 3805), plus `asleep` for a device
    /// in energy-saving mode, which is not an error but explains slow answers.
    pub enum ErrorFlag ("status flag") {
        LowPaper => "low_paper",
        NoPaper => "no_paper",
        LowToner => "low_toner",
        NoToner => "no_toner",
        DoorOpen => "door_open",
        Jammed => "jammed",
        Offline => "offline",
        ServiceRequested => "service_requested",
        InputTrayMissing => "input_tray_missing",
        OutputTrayMissing => "output_tray_missing",
        MarkerSupplyMissing => "marker_supply_missing",
        OutputNearFull => "output_near_full",
        OutputFull => "output_full",
        InputTrayEmpty => "input_tray_empty",
        OverduePreventiveMaintenance => "overdue_preventive_maintenance",
        Asleep => "asleep",
    }
}

/// A device's status at one reading.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Status {
    pub device: DeviceStatus,
    pub printer: PrinterStatus,
    /// Sorted, without repeats.
    pub errors: Vec<ErrorFlag>,
    pub display: Vec<String>,
}
