// Built without the `odbc` feature: a declared odbc pool is a compile error at its driver,
// naming the feature, and nothing else in the crate errors.
use outgoing_pools::outgoing_pools;

#[outgoing_pools(
    rdbms(connection(driver = pgsql, host = "localhost", database = "d", username = "u", password = "p")),
    rdbms(tag = legacy, connection(driver = odbc, settings = "DSN=mydb")),
)]
pub struct Pools;

async fn use_pools() -> Result<(), outgoing_pools::StartError> {
    let pools = Pools::start().await?;
    let _ = pools.rdbms_legacy();
    Ok(())
}

fn main() {
    let _ = use_pools();
}
