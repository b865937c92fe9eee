"""Pages of lists that grow for years (bench/README.md).

Two costs of a page grow with the list rather than with the page: counting
every matching row, and computing the annotated columns (next hearing,
legal-limit flag, case counts) of every row skipped to reach a deep page.

``ListPaginator`` counts exactly up to ``cap`` rows and past it says only
"at least" (shown as "10000+"), and reads a page's ids first (one index scan,
cheap however deep the page), then that page's rows with their annotations.
Whatever the size of the list, a page runs the same queries: the count, which
stops after ``cap`` + 1 rows; the page's ids, one more than a page, which
tells whether another page follows; the rows for those ids.

A search (``counted_with_page``) must find every match to sort them anyway: its
page's ids come with the number of matches (``COUNT(*) OVER ()``) in one query,
so the search runs once, not once to count and again for the page.
"""

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Count, Window
from django.utils.functional import cached_property

CAP = 10_000


class AtLeast(int):
    """A count known to be at least this, not exactly: it reads "10000+".

    Still a number, so templates compare it (``n > 20``) and choose plural
    forms with it as before.
    """

    def __str__(self):
        return f"{int(self)}+"

    __repr__ = __str__


def count_up_to(queryset, cap: int):
    """The number of rows, or AtLeast(cap) when there are more: stops reading at cap + 1."""
    found = queryset.values("pk").order_by()[: cap + 1].count()
    return found if found <= cap else AtLeast(cap)


class ListPaginator(Paginator):
    """Django's Paginator, counting up to ``cap`` and reading ids first (no orphans)."""

    def __init__(
        self, object_list, per_page, *, rows=None, cap: int = CAP, counted_with_page=False
    ):
        """``rows(ids)``: the rows to show for those ids, with their annotations; by
        default ``object_list`` narrowed to them. A caller whose filters cost (a name
        search) passes the unfiltered list, so they run for the ids alone, and
        ``counted_with_page``, so they run once."""
        super().__init__(object_list, per_page)
        self.rows = rows or (lambda ids: object_list.filter(pk__in=ids))
        self.cap = cap
        self.counted_with_page = counted_with_page
        self.last_seen: int = 0  # the furthest page known to exist, when the count is capped

    @cached_property
    def count(self):
        return count_up_to(self.object_list, self.cap)

    @property
    def capped(self) -> bool:
        return isinstance(self.count, AtLeast)

    @cached_property
    def num_pages(self):
        pages = super().num_pages
        return AtLeast(max(pages, self.last_seen)) if self.capped else pages

    @property
    def _counting_with_page(self) -> bool:
        return self.counted_with_page and "count" not in self.__dict__

    def validate_number(self, number):
        if not self._counting_with_page and not self.capped:
            return super().validate_number(number)
        # Past the cap a page exists when it has rows, which page() finds out.
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        if self._counting_with_page:
            found = list(
                self.object_list.annotate(matches=Window(Count("pk"))).values_list(
                    "pk", "matches"
                )[bottom : bottom + self.per_page + 1]
            )
            ids = [pk for pk, _matches in found]
            if found or number == 1:
                self.__dict__["count"] = found[0][1] if found else 0
                self.__dict__.pop("num_pages", None)
        else:
            ids = list(
                self.object_list.values_list("pk", flat=True)[bottom : bottom + self.per_page + 1]
            )
        if not ids and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        if self.capped:
            self.last_seen = number + 1 if len(ids) > self.per_page else number
            self.__dict__.pop("num_pages", None)
        ids = ids[: self.per_page]
        position = {pk: n for n, pk in enumerate(ids)}
        rows = sorted(self.rows(ids), key=lambda row: position[row.pk])
        return self._get_page(rows, number, self)

    def get_page(self, number):
        """As Django's: page 1 for a number that is not one, the last page for one out of range."""
        try:
            return self.page(self.validate_number(number))
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            if self._counting_with_page or self.capped:
                # A page past the end (an old link): count exactly, this once.
                self.__dict__["count"] = self.object_list.count()
                self.__dict__.pop("num_pages", None)
            return self.page(self.num_pages)
