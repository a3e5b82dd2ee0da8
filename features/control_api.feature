@control-api @D8
Feature: The Control API
  Decision D8's Control API, the reference server's way of creating, activating and ending
  conferences over HTTP: its own contract, checked only for a server whose profile claims the
  control-api part. Only status codes are judged; what an answer's body says is the server's.

  Scenario Outline: Admin calls need the admin token
    Given an active conference hosted by "hana" that nobody joined
    When the operator calls <method> <path> with <token>
    Then the Control API answers 401

    Examples:
      | method | path                                    | token         |
      | POST   | /admin/conferences/$conference/activate | no token      |
      | POST   | /admin/conferences/$conference/end      | a wrong token |
      | PUT    | /admin/conferences/$conference          | no token      |

  Scenario Outline: A body that is not a conference is refused
    When the operator calls PUT /admin/conferences/$conference with the admin token and body <body>
    Then the Control API refuses it as a client error

    Examples:
      | body                                  |
      | {not json                             |
      | {}                                    |
      | {"hostUserId": 5}                     |
      | {"hostUserId": "has space"}           |
      | {"hostUserId": "h", "status": "LIVE"} |

  Scenario: Activating or ending an unknown conference answers 404
    When the operator calls POST /admin/conferences/nowhere-$conference/activate with the admin token
    Then the Control API answers 404
    When the operator calls POST /admin/conferences/nowhere-$conference/end with the admin token
    Then the Control API answers 404

  Scenario: The probes answer
    When the operator calls GET /health with no token
    Then the Control API answers 200
    When the operator calls GET /ready with no token
    Then the Control API answers 200

  @metrics
  Scenario: The metrics answer
    When the operator calls GET /metrics with no token
    Then the Control API answers 200
