package analysis

import "strings"

// Stop words are the function words of English and Chinese: a query such
// as "how do I keep my module backwards compatible" is about modules and
// compatibility, and counting "how", "do" and "my" as words to match would
// rank the longest documents first, since they contain every word.
// Queries drop them (as Meilisearch does with a stop word list); documents
// keep them, so phrases and excerpts stay whole.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(englishStop + " " + chineseStop) {
		m[w] = true
	}
	return m
}()

// IsStopWord reports whether a folded term is a function word.
func IsStopWord(term string) bool { return stopWords[term] }

const englishStop = `
a about above after again against all am an and any are aren't as at
be because been before being below between both but by
can cannot could couldn't did didn't do does doesn't doing don't down during
each few for from further had hadn't has hasn't have haven't having he her
here hers herself him himself his how i if in into is isn't it it's its
itself let's me more most my myself no nor not of off on once only or other
ought our ours ourselves out over own same she should shouldn't so some such
than that that's the their theirs them themselves then there there's these
they this those through to too under until up very was wasn't we were
weren't what what's when where which while who whom why with won't would
wouldn't you your yours yourself yourselves dont doesnt didnt isnt arent
`

const chineseStop = `
的 了 着 是 在 和 与 及 或 也 都 就 而 被 把 让 给 从 对 向 以 于 之 其
这 那 这个 那个 这些 那些 一个 什么 怎么 怎样 如何 为什么 哪 哪些 哪个
吗 呢 吧 啊 呀 我 你 他 她 它 我们 你们 他们 用 来 去 要 会 能 可以 一下
`
