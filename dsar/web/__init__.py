"""What every web answer shares, whichever part serves it: the cap on request bodies
(``bodies``) and the response headers (``headers``). Plain middleware; it knows no part of
the product."""
