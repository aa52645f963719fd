"""The conntrack policy every stateful middlebox shares: settings (:mod:`.config`), the policy table
(:mod:`.policy`), its nftables rendering (:mod:`.render`) and its simpy model (:mod:`.model`)."""
