package dashboard

// EndedPrefix is endedPrefix, for the test that compares it with cluster's.
const EndedPrefix = endedPrefix
