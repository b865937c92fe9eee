"""``in`` on an integer column (or a relation to one), without the numbers no such
column can hold.

Since Django 5.0 ``exact``, ``gt``, ``lt`` and friends on an integer field treat a
number past the column's range as matching nothing (or everything); ``in`` does
not, and SQLite cannot even bind such a number (OverflowError, a 500). A form's
list of ids (``charges=99999999999999999999999999``) reaches the database as
``pk__in`` or ``charges__in``: those numbers name no row, so they are dropped
from the list, and an empty list matches nothing, as Django's ``in`` already
does. Registered from ``casework.apps.CaseworkConfig.ready``.
"""

from django.db.models import ForeignObject, IntegerField
from django.db.models.fields.related_lookups import RelatedIn
from django.db.models.lookups import In


class _WithinRange:
    def process_rhs(self, compiler, connection):
        field = self.lhs.output_field
        field = getattr(field, "target_field", field)  # a relation: the column it points at
        if self.rhs_is_direct_value() and isinstance(field, IntegerField):
            low, high = connection.ops.integer_field_range(field.get_internal_type())
            self.rhs = [
                value
                for value in self.rhs
                if not isinstance(value, int)
                or ((low is None or value >= low) and (high is None or value <= high))
            ]
        return super().process_rhs(compiler, connection)


@IntegerField.register_lookup
class IntegerFieldIn(_WithinRange, In):
    pass


@ForeignObject.register_lookup
class RelatedIntegerIn(_WithinRange, RelatedIn):
    pass
