package proc

const envOrphanParent = "PROC_TEST_ORPHAN_PARENT"

func orphanParent() int { return 0 }
