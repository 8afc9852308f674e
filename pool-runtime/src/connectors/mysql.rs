//! The `rdbms` connector for `driver = mysql` (being written).

use crate::declared::missing_connector;

missing_connector!(
    /// `rdbms` with `driver = mysql` (being written).
    Mysql, "rdbms mysql", ""
);
