@cluster @D25
Feature: Several nodes are one server
  Decision D25: several server processes on one Redis behave as one server. Room broadcasts
  reach sockets on every node, locks and duplicate checks hold across nodes, presence counts
  are global, and there is exactly one timer stream per live question (D16); if the node
  running it dies, another node closes the question by expiresAt + 2 s; if it stops (SIGTERM),
  it hands the countdown over and another node goes on from the tick it did not send.
  Run with two or more nodes (`--target` repeated, or `--nodes N`): the host is on node 1,
  the audience on the others.

  Scenario: Presence crosses nodes
    Given an active conference with host "hana"
    And "hana" has joined the conference on node 1
    When "alex" joins the conference on node 2
    Then "hana" receives audience:joined with userId "alex"
    And "hana" receives audience:count with audienceCount 1
    And "alex" receives audience:count with audienceCount 1

  Scenario: A vote on one node reaches the room on every node
    Given an active conference with host "hana"
    And "hana" has joined the conference on node 1
    And "alex" has joined the conference on node 2
    And question "q1" is live for 30 seconds
    When "alex" votes "C" on question "q1"
    Then "alex" receives vote:accepted with selectedOption "C"
    And "hana" receives vote:result with optionCounts.C 1 and totalVotes 1
    And "alex" receives vote:result with optionCounts.C 1 and totalVotes 1

  @D9
  Scenario: One user on two nodes is still one voter
    Given an active conference with host "hana"
    And "hana" has joined the conference on node 1
    And "alex" has joined the conference on node 2
    And "alex#2" has joined the conference on node 1
    And question "q1" is live for 30 seconds
    When "alex" votes "A" on question "q1"
    And "alex" receives vote:accepted
    And "alex#2" votes "B" on question "q1"
    Then "alex#2" receives vote:rejected because duplicate

  Scenario: The final result reaches every node
    Given an active conference with host "hana"
    And "hana" has joined the conference on node 1
    And "alex" has joined the conference on node 2
    And question "q1" is live for 30 seconds
    And "alex" has voted "B" on question "q1"
    When "hana" closes question "q1"
    Then "alex" receives question:closed with reason "manual"
    And "alex" receives vote:final_result with optionCounts.B 1 and totalVotes 1
    And "hana" receives vote:final_result with optionCounts.B 1 and totalVotes 1

  @D16
  Scenario: One timer stream per question, whichever node hears it
    Given an active conference with host "hana"
    And "hana" has joined the conference on node 1
    And "alex" has joined the conference on node 2
    When "hana" pushes question "q1" live for 4 seconds
    Then "alex" receives question:closed with reason "timeout"
    And "alex" received each question:timer_update of question "q1" exactly once
    And "alex" received 3 question:timer_update

  Scenario: Ending a conference on one node frees the sockets of every node
    Given an active conference with host "hana"
    And "alex" has joined the conference on node 2
    When the conference is ended
    And "alex" receives conference:status_changed with status "ENDED"
    And "alex" votes "A" on question "q1"
    Then "alex" receives vote:rejected because not_audience

  @failover @serial @D16
  Scenario: When the node running the countdown dies, another node closes the question
    Given an active conference with host "hana"
    And "hana" has joined the conference on node 1
    And "alex" has joined the conference on node 2
    And question "q1" is live for 4 seconds
    And "alex" has voted "D" on question "q1"
    When node 1 is killed
    Then "alex" receives question:closed with reason "timeout"
    And "alex" received question:closed within 2 seconds after expiresAt
    And "alex" receives vote:final_result with optionCounts.D 1 and totalVotes 1

  @handover @serial @D16
  Scenario: When the node running the countdown stops, another node goes on with every tick once
    Given an active conference with host "hana"
    And "hana" has joined the conference on node 1
    And "alex" has joined the conference on node 2
    And question "q1" is live for 5 seconds
    And "alex" has voted "D" on question "q1"
    When "alex" receives question:timer_update with timeRemaining 4
    And node 1 is stopped
    Then "alex" receives question:timer_update with timeRemaining 1
    And "alex" receives question:closed with reason "timeout"
    And "alex" received question:closed within 2 seconds after expiresAt
    And "alex" received each question:timer_update of question "q1" exactly once
    And "alex" received 4 question:timer_update
    And "alex" receives vote:final_result with optionCounts.D 1 and totalVotes 1
