package par

// ForgetTaskCost drops what earlier calls measured of the task name, so
// that a test can watch a call start from nothing.
func ForgetTaskCost(name string) { taskCosts.Delete(name) }
