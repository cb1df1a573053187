"""Sign-in: readers whom the site's own login system vouches for with a signed token."""
