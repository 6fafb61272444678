module clusterdns.io/bench/webhook-anchor

go 1.26
