use sla_metrics::*;
fn main() {
    let config = Config::from_json(r#"{"segments": {"by": ["channel","priority","team","agent","brand","policy","week","month"], "tz": "Europe/Paris"}}"#).unwrap();
    let mut e = Engine::new(config).unwrap();
    for ev in Workload::new(3, 3000).events() { let _ = e.ingest(&ev); }
    let r = e.finish();
    println!("{r}");
}
