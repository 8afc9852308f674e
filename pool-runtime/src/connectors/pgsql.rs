//! The `rdbms` connector for `driver = pgsql` (being written).

use crate::declared::missing_connector;

missing_connector!(
    /// `rdbms` with `driver = pgsql` (being written).
    Pgsql, "rdbms pgsql", ""
);
