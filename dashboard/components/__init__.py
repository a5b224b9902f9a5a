"""Parts of pages: each module draws one part with a ``render`` function (pages stay thin)."""
