"""What every web answer shares, whichever part serves it: the cap on request bodies
(``bodies``). Plain middleware; it knows no part of the product."""
