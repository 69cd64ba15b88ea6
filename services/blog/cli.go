package blog

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// ImportFiles is `yunqi import blog`: it imports the Markdown folders,
// zips and feed files named by paths into opts.Blog. It only reads and
// appends to the event log, which several processes may share, so it works
// while the server runs; the server's lists follow within moments.
func ImportFiles(ctx context.Context, store events.Store, paths []string, opts ImportOptions) (Summary, error) {
	inputs, err := ExpandPaths(paths)
	if err != nil {
		return Summary{Blog: opts.Blog}, fmt.Errorf("import blog: %w", err)
	}
	return Import(ctx, store, inputs, opts)
}

// WriteSummary prints an import's summary for a person: the counts, then
// every skipped post with its reason.
func WriteSummary(w io.Writer, s Summary) error {
	total := s.Imported + s.Revised + s.Unchanged + s.Skipped
	_, err := fmt.Fprintf(w, "%s: %d imported, %d revised, %d unchanged, %d skipped (%d in all, %s)\n",
		s.Blog, s.Imported, s.Revised, s.Unchanged, s.Skipped, total, s.Elapsed.Round(time.Millisecond))
	if err != nil {
		return err
	}
	if s.Skipped > 0 {
		fmt.Fprintln(w, "Skipped:")
		for _, o := range s.Posts {
			if o.Result == ResultSkipped {
				fmt.Fprintf(w, "  %s: %s\n", o.Source, o.Reason)
			}
		}
	}
	if s.Ignored > 0 {
		fmt.Fprintf(w, "Ignored %d files that are not Markdown posts (images, other files, WordPress attachments).\n", s.Ignored)
	}
	_, err = fmt.Fprintf(w, "Posts of %s that were not in this import are left as they are.\n", s.Blog)
	return err
}
