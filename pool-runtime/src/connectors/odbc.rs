//! The `rdbms` connector for `driver = odbc` (being written).

use crate::declared::missing_connector;

missing_connector!(
    /// `rdbms` with `driver = odbc` (being written).
    Odbc, "rdbms odbc", ""
);
