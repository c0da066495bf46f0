"""moto's server, with DynamoDB's atomicity and transactions that stay fast as a table grows.

Two differences from `python -m moto.server`, both toward what DynamoDB itself does:

1. One request at a time. DynamoDB applies a conditional write atomically: the condition and
   the write cannot interleave with another request's. moto's own server handles requests on
   concurrent threads without a lock around a conditional check and its write, so two racing
   `PutItem ... attribute_not_exists(pk)` calls can both succeed there, which DynamoDB never
   allows. Every request is served under one lock (connections are still accepted
   concurrently).
2. `TransactWriteItems` without copying whole tables. moto snapshots every table a transaction
   touches (a deep copy) so it can roll back, which makes one transaction take seconds once a
   table holds tens of thousands of items. DynamoDB allows one operation per item in a
   transaction, so no operation's condition depends on another's write: here every condition is
   checked first, and the operations are applied only when all hold (the same answers, including
   `CancellationReasons` with the items `ReturnValuesOnConditionCheckFailure` asks for).

Usage: python scripts/moto_server.py <host> <port>
"""

import sys
import threading

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def transact_write_items(self, transact_items):
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen = set()
    checked = []
    reasons = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise ValueError("Unsupported transaction operation")
        table_name = op["TableName"]
        table = self.get_table(table_name)
        if op_type == "Put":
            key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = op["Item"][table.range_key_attr]
        else:
            key = op["Key"]
        unique = (str(table_name), str(dict(sorted(key.items()))))
        if unique in seen:
            raise MultipleTransactionsException()
        seen.add(unique)
        current = self.get_item(table_name, key)
        condition = op.get("ConditionExpression")
        holds = condition is None or get_filter_expression(
            condition,
            op.get("ExpressionAttributeNames"),
            op.get("ExpressionAttributeValues"),
        ).expr(current)
        if holds:
            reasons.append((None, None, None))
        else:
            wants_old = op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
            old = current.to_json()["Attributes"] if wants_old and current else None
            reasons.append(("ConditionalCheckFailed", "The conditional request failed", old))
        checked.append((op_type, op, table_name, key))
    if any(code is not None for code, _, _ in reasons):
        raise TransactionCanceledException(reasons)
    for op_type, op, table_name, key in checked:
        if op_type == "Put":
            self.put_item(table_name, op["Item"])
        elif op_type == "Delete":
            self.delete_item(table_name, key)
        elif op_type == "Update":
            self.update_item(
                table_name,
                key,
                update_expression=op["UpdateExpression"],
                expression_attribute_names=op.get("ExpressionAttributeNames"),
                expression_attribute_values=op.get("ExpressionAttributeValues"),
            )


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    DynamoDBBackend.transact_write_items = transact_write_items
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            # The whole answer is produced under the lock: WSGI apps may be lazy.
            return list(app(environ, start_response))

    run_simple(host, port, one_at_a_time, threaded=True)


if __name__ == "__main__":
    main()
