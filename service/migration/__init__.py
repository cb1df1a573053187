"""Moving in and out: comments imported from Disqus, WordPress, Isso or a
loibinh export, and a site's or a reader's comments exported."""
