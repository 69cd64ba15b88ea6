package blog

import (
	"net/url"
	"strconv"
)

// The addresses of the blog pages, in one place so that links and routes
// agree. Writers' pages live under /blog/write/ rather than beside the
// posts, since a slug may be any word.

func blogPath(blog string) string { return "/blog/" + url.PathEscape(blog) + "/" }

func postPath(blog, slug string) string { return blogPath(blog) + url.PathEscape(slug) }

const deskPath = "/blog/write/"

func writeBlogPath(blog string) string { return deskPath + url.PathEscape(blog) + "/" }

func writeNewPath(blog string) string { return writeBlogPath(blog) + "new" }

func writePostPath(blog, slug string) string {
	return writeBlogPath(blog) + "posts/" + url.PathEscape(slug)
}

func writeRevisionsPath(blog, slug string) string { return writePostPath(blog, slug) + "/revisions" }

func writeDiffPath(blog, slug string, from, to int) string {
	return writePostPath(blog, slug) + "/diff?from=" + strconv.Itoa(from) + "&to=" + strconv.Itoa(to)
}

const collectionsPath = "/blog/collections/"

func collectionPath(id string) string { return collectionsPath + url.PathEscape(id) + "/" }

func curatePath(id string) string { return collectionPath(id) + "curate" }

func editionPath(id string, n int) string {
	return collectionPath(id) + "editions/" + strconv.Itoa(n) + "/"
}

func chapterPath(id string, edition, chapter int) string {
	return editionPath(id, edition) + strconv.Itoa(chapter)
}

func authorPath(name string) string { return "/blog/authors/" + url.PathEscape(name) }

func tagPath(tag string) string { return "/blog/tags/" + url.PathEscape(tag) }

func imagePath(name string) string { return "/blog/images/" + name }
