package mlflowclient

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

func TestScratchPlans(t *testing.T) {
	st, _ := sqliteBuildBench(t, 10_500)
	ctx := context.Background()
	db, _ := st.conn(ctx)
	for _, q := range []string{
		"SELECT run_uuid, key, value FROM params WHERE run_uuid IN (SELECT run_uuid FROM runs WHERE lifecycle_stage IN (SELECT value FROM json_each('[\"active\"]')) AND experiment_id IN (SELECT value FROM json_each('[1]')))",
		"SELECT run_uuid, key, value FROM params",
		"SELECT p.run_uuid, p.key, p.value FROM params p JOIN runs r ON r.run_uuid = p.run_uuid WHERE r.lifecycle_stage = 'active' AND r.experiment_id = 1",
		"SELECT run_uuid, key, value, timestamp, step, is_nan FROM latest_metrics",
		"SELECT run_uuid, name, user_id, status, start_time, end_time, lifecycle_stage, artifact_uri, experiment_id FROM runs",
	} {
		rows, _ := db.Query("EXPLAIN QUERY PLAN " + q)
		for rows.Next() {
			var a, b, c int
			var d string
			rows.Scan(&a, &b, &c, &d)
			t.Log(d)
		}
		rows.Close()
		for _, raw := range []bool{false, true} {
			start := time.Now()
			rows, err := db.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			cols, _ := rows.Columns()
			for rows.Next() {
				if raw {
					dest := make([]any, len(cols))
					for i := range dest {
						dest[i] = new(sql.RawBytes)
					}
					rows.Scan(dest...)
				}
				n++
			}
			rows.Close()
			t.Logf("raw=%v %d rows %s: %s", raw, n, time.Since(start), q[:min(len(q),40)])
		}
	}
}
